"""`nexus api`, `nexus dev-token`, `nexus grant-tokens` and `nexus run-video` (the API's hand-off to Dagster)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from datetime import UTC, datetime
from types import FrameType
from typing import Any

from nexus_cli.extras import needs_extras
from nexus_core.run_tags import RunSource
from nexus_core.settings import NexusSettings

MAX_GRANT = 1_000_000_000  # the API's GrantIn.amount bound (api.models); checked against it in grant_tokens


def _fail(message: str, code: int = 1) -> int:
    """One line on stderr, no traceback: 2 for a bad argument or setting, 1 for a service out of reach."""
    print(f"error: {message}", file=sys.stderr)
    return code


def _settings() -> Any:
    """The API settings from the environment (nexus_cli.settings_errors: a bad one is a one-line error)."""
    from api.core.config import Settings
    from nexus_cli.settings_errors import BadSetting, load_settings

    try:
        return load_settings(Settings, Settings)
    except BadSetting as exc:
        raise SystemExit(_fail(str(exc), 2)) from None


def _database_error(url: str, exc: Exception) -> int:
    reason = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [type(exc).__name__])[0]
    return _fail(f"cannot reach the database at {url.split('@')[-1]}: {reason}")


def _port(text: str) -> int:
    """argparse type: a TCP port, 1-65535 (a usage error otherwise, exit code 2)."""
    value = _int(text)
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text} is not a port (1-65535)")
    return value


def _positive(text: str) -> int:
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be at least 1")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def _user_id(text: str) -> str:
    """argparse type: a user id as the API accepts it (1-128 printable characters, valid Unicode)."""
    from nexus_core.models import check_unicode

    try:
        check_unicode(text, "the user id")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if not text.strip() or len(text) > 128 or any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a user id (1-128 printable characters, not blank)")
    return text


def register(subparsers: Any) -> None:
    api = subparsers.add_parser("api", help="start the REST API on 127.0.0.1 (OpenAPI docs at /docs)")
    api.add_argument("--port", type=_port, default=None, help="port (default 8000 or NEXUS_API_PORT)")
    api.add_argument("--host", default=None, help="address (default 127.0.0.1)")
    api.add_argument("--workers", type=_positive, default=None, help="worker processes (default 1)")
    api.set_defaults(handler=run_api)

    token = subparsers.add_parser("dev-token", help="print a signed RS256 token for a user (dev key pair)")
    token.add_argument("--user", required=True, type=_user_id, help="the user id (the token's sub)")
    token.add_argument("--plan", default="FREE", type=str.upper, choices=["FREE", "PREMIUM", "VIP"])
    token.add_argument("--role", action="append", dest="roles", default=[], help="a role, e.g. admin (repeatable)")
    token.add_argument("--ttl", type=_positive, default=24 * 3600, help="seconds until it expires (default one day)")
    token.add_argument("--private-key", default=None, help="a PEM private key (default: the dev key pair)")
    token.set_defaults(handler=dev_token)

    grant = subparsers.add_parser("grant-tokens", help="add tokens to a user's balance (a ledger row)")
    grant.add_argument("--user", required=True, type=_user_id)
    grant.add_argument("--amount", type=_positive, required=True,
                       help=f"tokens to add, 1-{MAX_GRANT:,} (the API's admin grant allows the same)")
    grant.add_argument("--note", default="granted from the command line")
    grant.set_defaults(handler=grant_tokens)

    run = subparsers.add_parser("run-video", help="run the six phases for a video already in the catalog")
    run.add_argument("video_id")
    run.add_argument("--source", default="cli", choices=[s.value for s in RunSource],
                     help="who asked for the video, for the run's nexus/source tag (the API passes api)")
    run.set_defaults(handler=run_video_command)


@needs_extras("api")
def run_api(args: argparse.Namespace) -> int:
    import uvicorn
    from sqlalchemy.exc import SQLAlchemyError

    from api.core.db import Database
    from api.server import uvicorn_limits

    settings = _settings()
    host = args.host or settings.host
    port = args.port if args.port is not None else settings.port
    workers = args.workers or settings.workers
    try:  # the workers would each fail with a traceback: say it once, before starting them
        database = Database(settings.database_url, pool_size=1, max_overflow=0)
        database.ping()
        database.close()
    except SQLAlchemyError as exc:
        return _database_error(settings.database_url, exc)
    # Workers read the same settings from the environment; pass the command line's choices on.
    os.environ["NEXUS_API_HOST"], os.environ["NEXUS_API_PORT"] = host, str(port)
    print(f"Nexus API on http://{host}:{port} (docs: /docs), database {settings.database_url.split('@')[-1]}")
    try:
        uvicorn.run("api.main:create_app", factory=True, host=host, port=port, workers=workers, log_level="info",
                    access_log=False, **uvicorn_limits())
    except OSError as exc:  # the port is taken or not ours to bind
        return _fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    return 0


@needs_extras("dev-token")
def dev_token(args: argparse.Namespace) -> int:
    from pathlib import Path

    from api.core.security import ensure_dev_keys, mint_token

    settings = _settings()
    if args.private_key:
        try:
            pem = Path(args.private_key).read_bytes()
        except OSError as exc:
            return _fail(f"--private-key {args.private_key}: {exc.strerror or exc}", 2)
    else:
        private_path, _ = ensure_dev_keys(settings.state_dir)
        pem = private_path.read_bytes()
    try:
        token = mint_token(pem, user_id=args.user, plan=args.plan, roles=args.roles, ttl_s=args.ttl,
                           issuer=settings.jwt_issuer, audience=settings.jwt_audience)
    except (ValueError, TypeError):  # cryptography: not PEM, encrypted, or not a private key
        return _fail(f"--private-key {args.private_key}: not an unencrypted PEM RSA private key", 2)
    print(token)
    return 0


@needs_extras("grant-tokens")
def grant_tokens(args: argparse.Namespace) -> int:
    from pydantic import ValidationError
    from sqlalchemy.exc import SQLAlchemyError

    from api import ledger
    from api.core.db import Database
    from api.models import GrantIn

    try:  # the API's own rule for a grant
        grant = GrantIn(user_id=args.user, amount=args.amount, note=args.note)
    except ValidationError as exc:
        first = exc.errors()[0]
        return _fail(f"--{first['loc'][0]}: {first['msg']}".replace("--user_id", "--user"), 2)
    url = _settings().database_url
    try:
        database = Database(url)
        try:
            with database.write() as session:
                balance = ledger.grant(session, user_id=grant.user_id, amount=grant.amount, note=grant.note,
                                       now=datetime.now(UTC))
        finally:
            database.close()
    except SQLAlchemyError as exc:
        return _database_error(url, exc)
    print(f"{args.user}: balance {balance.balance}, reserved {balance.reserved}")
    return 0


def _raise_interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt("terminated")


def run_video_command(args: argparse.Namespace) -> int:
    """Add the partition and run the job; SIGTERM (a cancel) stops it and marks the Dagster run canceled."""
    import dagster as dg

    from nexus_assets.partitions import VIDEOS_PARTITION
    from nexus_cli.generate import run_failure_reason, run_video
    from nexus_cli.instance import prepare_instance
    from nexus_core.catalog import Catalog
    from nexus_core.models import VideoStatus

    video_id = args.video_id
    settings = NexusSettings()
    catalog = Catalog(settings.catalog_url)
    record = catalog.get(video_id)
    if record is None:
        print(f"error: video {video_id} is not in the catalog", file=sys.stderr)
        return 2
    if record.is_final:
        print(f"video {video_id} is {record.status.value}: nothing to run")
        return 0
    signal.signal(signal.SIGTERM, _raise_interrupt)
    instance = prepare_instance(settings)
    instance.add_dynamic_partitions(VIDEOS_PARTITION, [video_id])
    error: str | None = None
    try:
        # the catalog records the run id when the first phase starts
        result = run_video(instance, video_id, source=RunSource(args.source), record=record)
        if not result.success:
            error = run_failure_reason({"result": result}) or "the pipeline run failed"
    except KeyboardInterrupt:
        error = "the pipeline run was interrupted"
    except Exception as exc:
        error = f"the pipeline run could not start: {exc}"
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    record = catalog.require(video_id)
    runs = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/partition": video_id}), limit=1)
    if record.status is VideoStatus.CANCELLED:
        for run in runs:
            if not run.is_finished or run.status is dg.DagsterRunStatus.FAILURE:
                instance.report_run_canceled(run, message="cancelled through the API")
        print(f"video {video_id}: CANCELLED")
        return 0
    if error and not record.is_final:
        catalog.mark_failed(video_id, error=error)
    record = catalog.require(video_id)
    print(f"video {video_id}: {record.status.value}{': ' + record.error if record.error else ''}")
    return 0 if record.status is VideoStatus.COMPLETED else 1
