"""Reading docker-compose.yml and the Dockerfile as Docker would, without a Docker engine: the compose file with its
YAML anchors merged and its ``${VAR…}`` interpolated, each service's command, environment, ports and health check,
and the Dockerfile's instructions (parsed by ``dockerfile``, which wraps Docker's own Go parser)."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dockerfile
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
# The Compose Specification's JSON schema (github.com/compose-spec/compose-spec, Apache-2.0), as vendored by the
# docker-compose linter ``dclint`` 3.1.0 (npm, MIT): compose_spec.json, draft-07.
COMPOSE_SCHEMA = Path(__file__).with_name("compose-spec.schema.json")

_VARIABLE = re.compile(
    r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|\$(?P<bare>[A-Za-z_]\w*)"
)


def load_compose() -> dict[str, Any]:
    """The compose file as YAML, anchors and merge keys resolved, nothing interpolated."""
    return dict(yaml.safe_load(COMPOSE_FILE.read_text()))


def interpolate(value: str, environ: dict[str, str]) -> str:
    """Compose's interpolation of one string: ``${X}``, ``${X:-default}``, ``${X-default}``, ``${X:?error}``,
    ``$X``; ``$$`` is a literal ``$``. A required variable missing from ``environ`` raises ``KeyError``."""

    def one(m: re.Match[str]) -> str:
        name = m.group("name") or m.group("bare")
        given = environ.get(name)
        op, arg = m.group("op"), m.group("arg") or ""
        if op in (":-", "-"):
            return given if given or (op == "-" and given is not None) else arg
        if op in (":?", "?") and not given:
            raise KeyError(f"{name}: {arg}")
        return given or ""

    parts = value.split("$$")
    return "$".join(_VARIABLE.sub(one, part) for part in parts)


def interpolated(node: Any, environ: dict[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, environ)
    if isinstance(node, list):
        return [interpolated(v, environ) for v in node]
    if isinstance(node, dict):
        return {k: interpolated(v, environ) for k, v in node.items()}
    return node


@dataclass(frozen=True)
class Service:
    name: str
    spec: dict[str, Any]

    @property
    def ours(self) -> bool:
        """Built from this repository's Dockerfile."""
        return "build" in self.spec

    @property
    def image(self) -> str:
        return str(self.spec.get("image", "")).split(":")[0]

    @property
    def one_shot(self) -> bool:
        return self.spec.get("restart") == "no"

    @property
    def environment(self) -> dict[str, str]:
        env = self.spec.get("environment") or {}
        if isinstance(env, list):
            env = dict(item.split("=", 1) for item in env)
        return {str(k): "" if v is None else str(v) for k, v in env.items()}

    def argv(self, image_cmd: list[str]) -> list[str]:
        """What the container runs: entrypoint + command (the image's CMD when the service names none)."""
        entry = self.spec.get("entrypoint") or []
        cmd = self.spec.get("command", image_cmd if not entry else [])
        entry = shlex.split(entry) if isinstance(entry, str) else list(entry)
        cmd = shlex.split(cmd) if isinstance(cmd, str) else list(cmd)
        return [*entry, *cmd]

    def depends_on(self) -> dict[str, str]:
        """Each dependency and its condition (a plain list means ``service_started``)."""
        deps = self.spec.get("depends_on") or {}
        if isinstance(deps, list):
            return {d: "service_started" for d in deps}
        return {d: (v or {}).get("condition", "service_started") for d, v in deps.items()}

    def container_ports(self) -> set[int]:
        """Ports other containers or the host reach it on: ``ports`` (container side) and ``expose``."""
        ports = set()
        for p in self.spec.get("ports") or []:
            ports.add(int(str(p).rsplit(":", 1)[-1].split("/")[0]))
        ports |= {int(str(p).split("/")[0]) for p in self.spec.get("expose") or []}
        return ports


def services(compose: dict[str, Any]) -> dict[str, Service]:
    return {name: Service(name, spec) for name, spec in compose["services"].items()}


def boxoffice_commands(argv: list[str]) -> list[list[str]]:
    """The ``boxoffice …`` invocations a container runs: the argv itself, or each one inside an ``sh -c`` script."""
    if argv[:1] == ["boxoffice"]:
        return [argv[1:]]
    if argv[:2] == ["sh", "-c"]:
        found = []
        for part in re.split(r"\|\||&&|;|\n", " ".join(argv[2:])):
            words = shlex.split(part)
            if words[:1] == ["boxoffice"]:
                found.append(words[1:])
        return found
    return []


def dockerfile_instructions() -> list[dockerfile.Command]:
    return list(dockerfile.parse_file(str(DOCKERFILE)))


def image_cmd() -> list[str]:
    """The Dockerfile's CMD, in exec form."""
    cmd = [c for c in dockerfile_instructions() if c.cmd == "CMD"][-1]
    assert cmd.json, "CMD must be in exec form (JSON), so signals reach the process"
    return list(cmd.value)
