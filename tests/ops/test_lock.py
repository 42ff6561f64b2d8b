"""Pinned installs: requirements-dev.lock (``make test``, CI) and requirements.lock (the Dockerfile) agree with
pyproject.toml. Each dependency pyproject names is pinned at a version its range allows, nothing pyproject no
longer names is pinned as a direct dependency, every pin carries hashes, and the two locks pin the same versions.
Regenerate both with ``make lock`` after changing pyproject's dependencies."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
RUNTIME = [Requirement(r) for r in PYPROJECT["project"]["dependencies"]]
DEV = [Requirement(r) for r in PYPROJECT["project"]["optional-dependencies"]["dev"]]
DIRECT = re.compile(r"#\s+(?:via\s+)?boxoffice \(pyproject\.toml\)")


@dataclass
class Pin:
    version: Version
    marker: Marker | None
    hashes: int = 0
    direct: bool = False  # uv's annotation: required by pyproject itself


@dataclass
class Lock:
    pins: dict[str, Pin] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path) -> Lock:
        """The pins of a ``uv pip compile --generate-hashes`` output, with their markers, hashes and annotations."""
        lock, current = cls(), None
        for line in path.read_text().splitlines():
            if line and not line[0].isspace() and not line.startswith("#"):
                req = Requirement(line.rstrip(" \\"))
                (spec,) = req.specifier  # exactly one ==
                assert spec.operator == "==", line
                current = canonicalize_name(req.name)
                lock.pins[current] = Pin(Version(spec.version), req.marker)
            elif current is not None and line.strip().startswith("--hash=sha256:"):
                lock.pins[current].hashes += 1
            elif current is not None and DIRECT.search(line):
                lock.pins[current].direct = True
        return lock


LOCKS = {"requirements.lock": RUNTIME, "requirements-dev.lock": RUNTIME + DEV}


@pytest.mark.parametrize("name", list(LOCKS))
def test_the_lock_pins_what_pyproject_asks_for(name: str) -> None:
    lock = Lock.read(ROOT / name)
    wanted = LOCKS[name]
    for req in wanted:
        pin = lock.pins.get(canonicalize_name(req.name))
        assert pin is not None, f"{req} is in pyproject.toml but not in {name}: run `make lock`"
        assert req.specifier.contains(pin.version, prereleases=True), (
            f"{name} pins {req.name}=={pin.version}, outside pyproject's {req.specifier}: run `make lock`"
        )
        assert pin.direct, f"{name} does not know {req.name} as pyproject's own: run `make lock`"
    named = {canonicalize_name(r.name) for r in wanted}
    stale = {n for n, p in lock.pins.items() if p.direct and n not in named}
    assert not stale, f"{name} still pins {stale} for pyproject, which no longer names them: run `make lock`"
    unhashed = [n for n, p in lock.pins.items() if p.hashes == 0]
    assert not unhashed, f"{name}: pins without hashes: {unhashed}"


def test_the_image_and_the_tests_install_the_same_versions() -> None:
    runtime, dev = Lock.read(ROOT / "requirements.lock"), Lock.read(ROOT / "requirements-dev.lock")
    differ = {n: (p.version, dev.pins[n].version if n in dev.pins else None) for n, p in runtime.pins.items()}
    differ = {n: v for n, v in differ.items() if v[0] != v[1]}
    assert not differ, f"requirements.lock and requirements-dev.lock disagree: {differ}"


def test_the_lock_reader_sees_a_disagreement(tmp_path: Path) -> None:
    """The checks above can fail: a pin outside pyproject's range, and a dependency pyproject dropped."""
    lock = tmp_path / "requirements.lock"
    lock.write_text(
        "fastapi==0.1.0 \\\n    --hash=sha256:00\n    # via boxoffice (pyproject.toml)\n"
        "leftpad==1.0 \\\n    --hash=sha256:11\n    # via boxoffice (pyproject.toml)\n"
    )
    pins = Lock.read(lock).pins
    fastapi = next(r for r in RUNTIME if r.name == "fastapi")
    assert not fastapi.specifier.contains(pins["fastapi"].version)
    assert pins["leftpad"].direct and "leftpad" not in {canonicalize_name(r.name) for r in RUNTIME}
