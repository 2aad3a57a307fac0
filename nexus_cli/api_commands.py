"""`nexus api`, `nexus dev-token`, `nexus grant-tokens` and `nexus run-video` (the API's hand-off to Dagster)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from datetime import UTC, datetime
from types import FrameType
from typing import Any

from nexus_core.settings import NexusSettings


def register(subparsers: Any) -> None:
    api = subparsers.add_parser("api", help="start the REST API on 127.0.0.1 (OpenAPI docs at /docs)")
    api.add_argument("--port", type=int, default=None, help="port (default 8000 or NEXUS_API_PORT)")
    api.add_argument("--host", default=None, help="address (default 127.0.0.1)")
    api.add_argument("--workers", type=int, default=None, help="worker processes (default 1)")
    api.set_defaults(handler=run_api)

    token = subparsers.add_parser("dev-token", help="print a signed RS256 token for a user (dev key pair)")
    token.add_argument("--user", required=True, help="the user id (the token's sub)")
    token.add_argument("--plan", default="FREE", type=str.upper, choices=["FREE", "PREMIUM", "VIP"])
    token.add_argument("--role", action="append", dest="roles", default=[], help="a role, e.g. admin (repeatable)")
    token.add_argument("--ttl", type=int, default=24 * 3600, help="seconds until it expires (default one day)")
    token.add_argument("--private-key", default=None, help="a PEM private key (default: the dev key pair)")
    token.set_defaults(handler=dev_token)

    grant = subparsers.add_parser("grant-tokens", help="add tokens to a user's balance (a ledger row)")
    grant.add_argument("--user", required=True)
    grant.add_argument("--amount", type=int, required=True)
    grant.add_argument("--note", default="granted from the command line")
    grant.set_defaults(handler=grant_tokens)

    run = subparsers.add_parser("run-video", help="run the six phases for a video already in the catalog")
    run.add_argument("video_id")
    run.set_defaults(handler=run_video_command)


def run_api(args: argparse.Namespace) -> int:
    import uvicorn

    from api.core.config import Settings

    settings = Settings()
    host = args.host or settings.host
    port = args.port if args.port is not None else settings.port
    workers = args.workers or settings.workers
    # Workers read the same settings from the environment; pass the command line's choices on.
    os.environ["NEXUS_API_HOST"], os.environ["NEXUS_API_PORT"] = host, str(port)
    print(f"Nexus API on http://{host}:{port} (docs: /docs), database {settings.database_url.split('@')[-1]}")
    uvicorn.run("api.main:create_app", factory=True, host=host, port=port, workers=workers, log_level="info",
                access_log=False)
    return 0


def dev_token(args: argparse.Namespace) -> int:
    from pathlib import Path

    from api.core.config import Settings
    from api.core.security import ensure_dev_keys, mint_token

    settings = Settings()
    if args.private_key:
        pem = Path(args.private_key).read_bytes()
    else:
        private_path, _ = ensure_dev_keys(settings.state_dir)
        pem = private_path.read_bytes()
    print(mint_token(pem, user_id=args.user, plan=args.plan, roles=args.roles, ttl_s=args.ttl,
                     issuer=settings.jwt_issuer, audience=settings.jwt_audience))
    return 0


def grant_tokens(args: argparse.Namespace) -> int:
    from api import ledger
    from api.core.config import Settings
    from api.core.db import Database

    if args.amount <= 0:
        print("error: --amount must be a positive number of tokens", file=sys.stderr)
        return 2
    database = Database(Settings().database_url)
    try:
        with database.write() as session:
            balance = ledger.grant(session, user_id=args.user, amount=args.amount, note=args.note,
                                   now=datetime.now(UTC))
    finally:
        database.close()
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
        result = run_video(instance, video_id)  # the catalog records the run id when the first phase starts
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
