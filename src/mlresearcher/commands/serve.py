"""``mlresearcher serve RUN``: the run's model as an HTTP API (see :mod:`mlresearcher.serve.app`)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any


def register(sub: Any) -> None:
    from mlresearcher.cli import _positive_int

    p = sub.add_parser(
        "serve",
        help="serve a finished run's model over HTTP",
        description=(
            "Serve a run's model as an HTTP API: POST /predict, GET /health, /ready, /metadata, "
            "/metrics (Prometheus), /drift. The model's checksum is verified before loading."
        ),
    )
    p.add_argument("run", help="run directory (runs/<run-id>) or a run id under --runs")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=_port, default=8000, help="port (default 8000)")
    p.add_argument("--workers", type=_positive_int, default=1, help="worker processes (default 1)")
    p.add_argument(
        "--api-key-env",
        metavar="VAR",
        help="require the API key held in this environment variable (X-API-Key header)",
    )
    p.add_argument(
        "--max-rows",
        type=_positive_int,
        default=50_000,
        metavar="N",
        help="most rows per request; more get 413 (default 50000)",
    )
    p.add_argument(
        "--max-body-mb",
        type=_positive_float_mb,
        default=64.0,
        metavar="MB",
        help="largest request body in MiB; larger get 413 (default 64)",
    )
    p.add_argument(
        "--recent-rows",
        type=int,
        default=5_000,
        metavar="N",
        help="recent rows each worker keeps for GET /drift (default 5000; 0 keeps none)",
    )
    p.add_argument(
        "--allow-unauthenticated",
        action="store_true",
        help="serve on a non-loopback --host without --api-key-env (anyone who reaches the"
        " address can use the model); refused otherwise",
    )
    p.add_argument("--access-log", action="store_true", help="log every request")
    p.add_argument(
        "--runs",
        default="runs",
        metavar="DIR",
        help="runs folder to resolve a run id (default ./runs)",
    )
    p.set_defaults(handler=cmd_serve)


def _port(s: str) -> int:
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {s!r}") from None
    if not 0 <= v <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0-65535, got {s}")
    return v


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only (127.0.0.0/8, ::1, localhost)."""
    import ipaddress

    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a name other than localhost may resolve to any address
        return False


def _positive_float_mb(s: str) -> float:
    from mlresearcher.cli import _positive_float

    return _positive_float(s)


def cmd_serve(args: argparse.Namespace, argv: list[str]) -> int:
    from mlresearcher.errors import ConfigError
    from mlresearcher.store.rundir import resolve_run_dir

    try:
        import uvicorn

        from mlresearcher.serve.app import SETTINGS_ENV, ServeSettings, create_app, settings_env
    except ImportError as e:
        raise ConfigError(
            f"serving needs the 'serve' extra ({e.name} is missing); pip install 'mlresearcher[serve]'"
        ) from None
    api_key = None
    if args.api_key_env:
        api_key = os.environ.get(args.api_key_env)
        if not api_key:
            raise ConfigError(
                f"--api-key-env {args.api_key_env}: that environment variable is unset or empty; "
                "export the key in it first"
            )
    if api_key is None and not is_loopback(args.host) and not args.allow_unauthenticated:
        raise ConfigError(
            f"--host {args.host} is reachable from other machines and no API key is set; "
            "require one with --api-key-env VAR, or pass --allow-unauthenticated to serve "
            "it open"
        )
    run_dir = resolve_run_dir(args.run, args.runs)
    settings = ServeSettings(
        run_dir=str(run_dir.resolve()),
        api_key=api_key,
        max_rows=args.max_rows,
        max_body_bytes=int(args.max_body_mb * 1024 * 1024),
        recent_rows=max(0, args.recent_rows),
    )
    log_level = "info"
    if args.workers == 1:
        app = create_app(settings)  # verify and load here, so a bad artifact fails fast
        print(
            f"serving {run_dir} on http://{args.host}:{args.port} (docs at /docs)", file=sys.stderr
        )
        uvicorn.run(
            app, host=args.host, port=args.port, access_log=args.access_log, log_level=log_level
        )
        return 0
    # each worker process loads (and verifies) the model itself; check once here first
    from mlresearcher.store.integrity import load_verified

    load_verified(run_dir)
    os.environ[SETTINGS_ENV] = settings_env(settings)
    print(
        f"serving {run_dir} on http://{args.host}:{args.port} with {args.workers} workers",
        file=sys.stderr,
    )
    uvicorn.run(
        "mlresearcher.serve.app:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        access_log=args.access_log,
        log_level=log_level,
    )
    return 0
