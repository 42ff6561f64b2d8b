"""The ``boxoffice`` command."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import uuid
from collections.abc import Callable

from boxoffice.config import Settings, settings_or_exit
from boxoffice.logging import configure_logging


def _settings(data_dir: str | None = None) -> Settings:
    if data_dir:
        os.environ["BOXOFFICE_DATA_DIR"] = data_dir
    settings = settings_or_exit()
    configure_logging(json=settings.json_logs, level=settings.log_level)
    return settings


def cmd_dev(args: argparse.Namespace) -> int:
    from boxoffice.devstack import DevPorts, run_dev

    return run_dev(_settings(args.data_dir), DevPorts(api=args.port, temporal=args.temporal_port, ui=args.ui_port))


def _api_preflight(settings: Settings, host: str, port: int) -> str | None:
    """Why ``boxoffice api`` cannot start (issue 10): its port is taken, or the Temporal namespace does not exist.
    Temporal being down is no reason: the API starts without it and answers /readyz 503 until it is back."""
    from boxoffice.devstack import port_in_use
    from boxoffice.temporal import NamespaceMissing, TemporalUnreachable, connect_checked, converter_for
    from boxoffice.tracing import TracingConfigError, process_tracing

    if port_in_use(host, port):
        return f"{host}:{port} is already in use (--host, --port)"
    try:
        process_tracing("boxoffice-api")  # issue 11: OTEL_* asks for something this build cannot do
    except TracingConfigError as exc:
        return str(exc)
    try:
        converter = converter_for(settings.payload_keys)
        address, namespace = settings.temporal_address, settings.temporal_namespace
        asyncio.run(connect_checked(address, namespace, converter=converter, timeout=5))
    except NamespaceMissing as exc:
        return str(exc)
    except TemporalUnreachable as exc:
        print(f"boxoffice api: {exc}; starting anyway (/readyz answers 503 until it is back)", file=sys.stderr)
    return None


def cmd_api(args: argparse.Namespace) -> int:
    import uvicorn

    settings = _settings()
    if (problem := _api_preflight(settings, args.host, args.port)) is not None:
        print(f"boxoffice api: {problem}", file=sys.stderr)
        return 1
    if args.workers > 1:
        uvicorn.run(
            "boxoffice.api.main:app_from_env",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_config=None,
            access_log=False,
        )
    else:
        from boxoffice.api.app import create_app

        uvicorn.run(create_app(settings), host=args.host, port=args.port, log_config=None, access_log=False)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from boxoffice.metrics import MetricsUnavailable
    from boxoffice.temporal import TemporalStartupError
    from boxoffice.tracing import TracingConfigError
    from boxoffice.worker import run_worker

    try:
        asyncio.run(run_worker(_settings(), queues=args.queues))
    except (TemporalStartupError, MetricsUnavailable, TracingConfigError) as exc:
        print(f"boxoffice worker: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    from boxoffice.auth import mint_token

    settings = _settings()
    ttl = args.ttl if args.ttl is not None else settings.jwt_ttl_seconds
    print(mint_token(settings.jwt_secret, user=args.user, org=args.org, role=args.role, ttl=ttl))
    return 0


def cmd_db_upgrade(_args: argparse.Namespace) -> int:
    from boxoffice.migrations import upgrade

    settings = _settings()
    upgrade(settings.resolved_database_url)
    print(f"database at head: {settings.resolved_database_url}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from boxoffice.books.invariants import check_command

    url = _settings().resolved_database_url
    return asyncio.run(check_command(url, event_id=args.event, organization_id=args.org, settled=args.settled))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="boxoffice", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    dev = sub.add_parser("dev", help="run the embedded stack (what `make run` runs)")
    dev.add_argument("--port", type=int, default=8000)
    dev.add_argument("--temporal-port", type=int, default=7233)
    dev.add_argument("--ui-port", type=int, default=8233)
    dev.add_argument("--data-dir", default=None)
    dev.set_defaults(func=cmd_dev)

    api = sub.add_parser("api", help="run the API process")
    api.add_argument("--host", default="127.0.0.1")
    api.add_argument("--port", type=int, default=8000)
    api.add_argument("--workers", type=int, default=1)
    api.set_defaults(func=cmd_api)

    worker = sub.add_parser("worker", help="run the worker process")
    worker.add_argument(
        "--queues",
        choices=["all", "checkout", "documents"],
        default=None,
        help="the task queues to serve (default: BOXOFFICE_WORKER_QUEUES, all)",
    )
    worker.set_defaults(func=cmd_worker)

    token = sub.add_parser("token", help="print a bearer token the API accepts")
    token.add_argument("--user", required=True)
    token.add_argument("--org", required=True)
    token.add_argument("--role", choices=["buyer", "org_admin", "scanner", "operator"], default="buyer")
    token.add_argument("--ttl", type=int, default=None, help="seconds (default: BOXOFFICE_JWT_TTL_SECONDS, 3600)")
    token.set_defaults(func=cmd_token)

    db = sub.add_parser("db", help="database commands")
    dbsub = db.add_subparsers(dest="db_command", required=True)
    dbsub.add_parser("upgrade", help="apply migrations to head").set_defaults(func=cmd_db_upgrade)

    check = sub.add_parser("check", help="check inventory, orders, tickets and the books agree; exit 1 on a violation")
    check.add_argument("--event", type=uuid.UUID, default=None, help="only this event")
    check.add_argument("--org", default=None, help="only this organisation")
    check.add_argument("--settled", action="store_true", help="unsold orders' captured money must be refunded")
    check.set_defaults(func=cmd_check)

    for extend in EXTENSIONS:
        extend(sub)
    return p


# Later modules add subcommands here (demo, keys, gate) without this file importing them eagerly.
def _ticketing(sub: argparse._SubParsersAction) -> None:
    from boxoffice.ticketing.cli import register

    register(sub)


def _demo(sub: argparse._SubParsersAction) -> None:
    from boxoffice.demo import register

    register(sub)


def _payload_keys(sub: argparse._SubParsersAction) -> None:  # issue 11
    from boxoffice.codec_cli import register

    register(sub)


EXTENSIONS: list[Callable[[argparse._SubParsersAction], None]] = [_demo, _ticketing, _payload_keys]


def main(argv: list[str] | None = None) -> None:
    """Run a command, then leave with ``os._exit``: the Temporal bridge can abort a finalising interpreter."""
    status = 1
    try:
        args = build_parser().parse_args(argv)
        status = int(args.func(args) or 0)
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
    except KeyboardInterrupt:
        status = 130
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(status)


if __name__ == "__main__":
    main()
