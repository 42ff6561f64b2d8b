"""docker-compose.yml and the Dockerfile, checked without a Docker engine: the compose file is valid against the
Compose Specification's schema, and its cross-references hold: every variable a service reads is one it knows
(a Boxoffice setting, with a valid value, or a documented variable of the third-party image), addresses name a
service on a port it listens on, dependencies exist and wait for what they need, long-running services have health
checks, and every command the image runs is a real ``boxoffice`` command. The Dockerfile copies files that exist and
installs from the lock."""

from __future__ import annotations

import json
import re
import secrets
import tomllib
from pathlib import Path

import jsonschema
import opentelemetry.environment_variables as otel_api_env
import opentelemetry.sdk.environment_variables as otel_sdk_env
import pytest

from boxoffice.checkout.contract import SEARCH_ATTRIBUTES
from boxoffice.cli import build_parser
from boxoffice.codec import generate_payload_key
from boxoffice.config import Settings, refuse_production_defaults
from tests.ops.compose import (
    COMPOSE_SCHEMA,
    ROOT,
    Service,
    boxoffice_commands,
    dockerfile_instructions,
    image_cmd,
    interpolate,
    interpolated,
    load_compose,
    services,
)

# What an operator must export (the file refuses to start without them), as they would write it.
OPERATOR_ENV = {
    "BOXOFFICE_JWT_SECRET": secrets.token_urlsafe(48),
    "BOXOFFICE_SMTP_URL": "smtp://mail.example.com:587",
    "BOXOFFICE_PAYLOAD_KEYS": generate_payload_key("prod1"),  # issue 11
}

# Variables the third-party images document, by image: postgres (Docker Hub "postgres", Environment Variables),
# temporalio/auto-setup (temporalio/docker-builds: docker/auto-setup.sh and config_template.yaml), temporalio/ui
# (temporalio/ui-server: docker/config-template.yaml).
DOCUMENTED = {
    "postgres": {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB", "POSTGRES_INITDB_ARGS", "PGDATA"},
    "temporalio/auto-setup": {
        "DB", "DB_PORT", "POSTGRES_USER", "POSTGRES_PWD", "POSTGRES_SEEDS", "DBNAME", "VISIBILITY_DBNAME",
        "DEFAULT_NAMESPACE", "DEFAULT_NAMESPACE_RETENTION", "NUM_HISTORY_SHARDS", "SKIP_SCHEMA_SETUP",
        "SKIP_ADD_CUSTOM_SEARCH_ATTRIBUTES", "TEMPORAL_ADDRESS",
    },
    "temporalio/ui": {
        "TEMPORAL_ADDRESS", "TEMPORAL_UI_PORT", "TEMPORAL_CODEC_ENDPOINT", "TEMPORAL_CODEC_PASS_ACCESS_TOKEN",
        "TEMPORAL_CODEC_INCLUDE_CREDENTIALS", "TEMPORAL_CORS_ORIGINS",
    },
}  # fmt: skip
# Where third-party images listen by default (postgres 5432, Temporal's frontend 7233, the UI's TEMPORAL_UI_PORT).
DEFAULT_PORTS = {"postgres": 5432, "temporalio/auto-setup": 7233}
OTEL_VARIABLES = {
    v for module in (otel_api_env, otel_sdk_env) for k, v in vars(module).items() if k.startswith("OTEL_")
}
SETTING_NAMES = {f"BOXOFFICE_{name.upper()}": name for name in Settings.model_fields}
ADDRESS = re.compile(r"(?:^|//|@)(?P<host>[a-z][a-z0-9-]*):(?P<port>\d+)")


@pytest.fixture(scope="module")
def compose() -> dict[str, Service]:
    return services(interpolated(load_compose(), OPERATOR_ENV))


def listening(service: Service) -> set[int]:
    """The ports a service's process listens on, from its command and environment or its image's defaults."""
    if service.ours:
        argv = service.argv(image_cmd())
        ports = {int(argv[i + 1]) for i, a in enumerate(argv) if a == "--port"}
        env = service.environment
        return ports | {int(env[k]) for k in ("BOXOFFICE_METRICS_PORT", "BOXOFFICE_SDK_METRICS_PORT") if env.get(k)}
    if service.image == "temporalio/ui":
        return {int(service.environment.get("TEMPORAL_UI_PORT", "8080"))}
    return {DEFAULT_PORTS[service.image]} if service.image in DEFAULT_PORTS else set()


def test_the_compose_file_is_valid_against_the_compose_spec() -> None:
    schema = json.loads(COMPOSE_SCHEMA.read_text())
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in jsonschema.Draft7Validator(schema).iter_errors(load_compose())
    ]
    assert not errors, errors


def test_the_operator_must_set_the_secrets() -> None:
    raw = (ROOT / "docker-compose.yml").read_text()
    for name in OPERATOR_ENV:
        with pytest.raises(KeyError, match=name):
            interpolated(load_compose(), {k: v for k, v in OPERATOR_ENV.items() if k != name})
        assert f"${{{name}:?" in raw
    assert interpolate("a$$b ${X:-d} ${Y-e} $Z", {"Z": "z"}) == "a$b d e z"


def test_every_variable_is_a_setting_or_documented(compose: dict[str, Service]) -> None:
    for service in compose.values():
        env = service.environment
        if service.ours:
            unknown = {k for k in env if k not in SETTING_NAMES and k not in OTEL_VARIABLES}
        else:
            unknown = set(env) - DOCUMENTED[service.image]
        assert not unknown, (service.name, unknown)


def test_boxoffice_settings_are_valid_and_complete_for_production(compose: dict[str, Service], tmp_path: Path) -> None:
    key = tmp_path / "signing_key.pem"
    key.write_text("a ring")  # refuse_production_defaults checks the key file exists, not what is in it
    for service in compose.values():
        env = service.environment
        if not service.ours or not any(k in SETTING_NAMES for k in env):
            continue
        values = {SETTING_NAMES[k]: v for k, v in env.items() if k in SETTING_NAMES and v != ""}
        values["signing_key_file"] = str(key)
        settings = Settings.model_validate(values)  # these values only, not this machine's environment
        refuse_production_defaults(settings)  # raises, naming each missing or weak production setting
        assert settings.env == "production" and settings.database_url.startswith("postgresql+psycopg://")


def test_addresses_name_a_service_on_a_port_it_listens_on(compose: dict[str, Service]) -> None:
    for service in compose.values():
        for name, value in service.environment.items():
            for m in ADDRESS.finditer(value):
                if m["host"] in compose:
                    target = compose[m["host"]]
                    assert int(m["port"]) in listening(target), (service.name, name, value, listening(target))
        assert service.container_ports() <= listening(service), (service.name, service.container_ports())
        health = " ".join(map(str, (service.spec.get("healthcheck") or {}).get("test", [])))
        for port in re.findall(r"127\.0\.0\.1:(\d+)", health):
            assert int(port) in listening(service), (service.name, health)


def test_the_public_url_and_the_ui_codec_endpoint_reach_the_api(compose: dict[str, Service]) -> None:
    api, ui = compose["api"], compose["temporal-ui"]
    public = api.environment["BOXOFFICE_PUBLIC_URL"]
    published = {int(p.split(":")[0]): int(p.split(":")[1]) for p in map(str, api.spec["ports"])}
    port = int(public.rsplit(":", 1)[1])
    assert published.get(port) in listening(api), (public, published)
    assert ui.environment["TEMPORAL_CODEC_ENDPOINT"] == f"{public}/codec"
    from boxoffice.api.codec_server import PREFIX

    assert PREFIX == "/codec"


def test_dependencies_exist_and_wait_for_what_they_need(compose: dict[str, Service]) -> None:
    for service in compose.values():
        for dep, condition in service.depends_on().items():
            assert dep in compose, (service.name, dep)
            if condition == "service_healthy":
                assert "healthcheck" in compose[dep].spec, (service.name, dep)
            if condition == "service_completed_successfully":
                assert compose[dep].one_shot, (service.name, dep)
        if not service.one_shot:
            assert "healthcheck" in service.spec, f"{service.name} runs for good and needs a health check"
    # Migrations run once, before anything that uses the database; so does the search attributes' registration.
    for name in ("api", "worker", "documents-worker"):
        deps = compose[name].depends_on()
        assert deps.get("migrate") == "service_completed_successfully", name
        assert deps.get("temporal-setup") == "service_completed_successfully", name
    assert compose["migrate"].depends_on()["postgres"] == "service_healthy"
    order: list[str] = []  # a start order exists: no cycle
    while len(order) < len(compose):
        ready = [s for s in compose if s not in order and set(compose[s].depends_on()) <= set(order)]
        assert ready, f"a dependency cycle among {set(compose) - set(order)}"
        order += ready


def test_every_command_the_image_runs_exists(compose: dict[str, Service]) -> None:
    parser = build_parser()
    ran: list[list[str]] = []
    for service in compose.values():
        if service.ours:
            commands = boxoffice_commands(service.argv(image_cmd()))
            assert commands, (service.name, service.argv(image_cmd()))
            ran += commands
    ran.append(image_cmd()[1:])
    for argv in ran:
        args = parser.parse_args(argv)  # SystemExit for an unknown command or option
        assert callable(args.func), argv
    as_run = {tuple(a[:2] if a[0] == "db" else a[:1]) for a in ran}
    assert {("api",), ("worker",), ("db", "upgrade"), ("keys",)} <= as_run, as_run
    queues = {a[a.index("--queues") + 1] for a in ran if a[0] == "worker"}
    assert queues == {"checkout", "documents"}, queues
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["boxoffice"] == "boxoffice.cli:main"


def test_temporal_setup_registers_the_contracts_search_attributes(compose: dict[str, Service]) -> None:
    script = " ".join(compose["temporal-setup"].argv([]))
    listed = re.search(r"for name in ([\w ]+); do", script)
    assert listed is not None, script
    assert set(listed[1].split()) == {a.name for a in SEARCH_ATTRIBUTES}
    assert "--type Keyword" in script


def test_the_dockerfile_copies_what_exists_and_installs_the_lock() -> None:
    instructions = dockerfile_instructions()
    assert instructions[0].cmd == "FROM" and instructions[0].value[0].startswith("python:3.11")
    for copy in (c for c in instructions if c.cmd in ("COPY", "ADD")):
        assert not any(f.startswith("--from") for f in copy.flags), copy
        for source in copy.value[:-1]:
            assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
    runs = [c.value[0] for c in instructions if c.cmd == "RUN"]
    assert any("pip install --require-hashes -r requirements.lock" in r for r in runs), runs
    assert any("pip install --no-deps ." in r for r in runs), runs
    assert [c.value[0] for c in instructions if c.cmd == "USER"] == ["boxoffice"]
