"""Where a local request's time goes under `nexus up`: queue wait, run start, per-step overhead.

    .venv/bin/python bench/local_latency.py [--duration 5] [--port-base 18400] [--keep]

Starts `nexus up` (broker, Dagster webserver + daemon, API) with a fresh NEXUS_HOME on its own ports,
mints a dev token, POSTs one short video, waits until it is COMPLETED, and prints, from the catalog's
timestamps and the Dagster event log of the run:

  accepted -> run created     the request sensor's pick-up (Kafka -> a queued run)
  run created -> dequeued     the run queue (QueuedRunCoordinator's dequeue interval)
  dequeued -> RUN_START       the run worker's start (a process that loads the code)
  accepted -> PROCESSING      what a client sees in QUEUED (the catalog's created_at -> started_at)
  per step: start gap         from the last upstream step's end (or RUN_START) to this step's start
            busy              STEP_START -> STEP_SUCCESS, and the asset's own seconds from the catalog

Nothing is asserted: it is a measurement. The stack is stopped (its process group) at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO)]
BODY = {"prompt": "A quiet park in autumn", "duration_seconds": 5, "resolution": "360p", "quality": "STANDARD",
        "music_style": "none"}


def _wait_http(url: str, timeout_s: float) -> None:
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer in {timeout_s:.0f} s")


def _events(run_id: str) -> list[tuple[str, str | None, float]]:
    """(event type, step key, timestamp) of a run, in order."""
    import dagster as dg

    instance = dg.DagsterInstance.get()
    out: list[tuple[str, str | None, float]] = []
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is not None:
            out.append((event.event_type_value, event.step_key, entry.timestamp))
    return out


def _run_record(run_id: str) -> Any:
    import dagster as dg

    return dg.DagsterInstance.get().get_run_record_by_id(run_id)


def _ts(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    return datetime.fromisoformat(str(value)).timestamp()


def measure(args: argparse.Namespace) -> dict[str, Any]:
    import httpx

    home = Path(tempfile.mkdtemp(prefix="nexus-latency-"))
    env = {**os.environ, "NEXUS_HOME": str(home), "DAGSTER_HOME": str(home / "dagster")}
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    ui, api, kafka = args.port_base, args.port_base + 1, args.port_base + 2
    nexus = [sys.executable, "-m", "nexus_cli.main"]
    stack = subprocess.Popen([*nexus, "up", "--ui-port", str(ui), "--api-port", str(api), "--kafka-port", str(kafka)],
                             cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                             start_new_session=True)
    try:
        base = f"http://127.0.0.1:{api}"
        _wait_http(f"{base}/healthz", 90)
        _wait_http(f"http://127.0.0.1:{ui}/server_info", 120)
        token = subprocess.run([*nexus, "dev-token", "--user", "bench", "--plan", "PREMIUM"], cwd=REPO, env=env,
                               check=True, capture_output=True, text=True).stdout.strip()
        time.sleep(args.settle)  # let the daemon's loops and the code server warm up, as a person would
        client = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        accepted = client.post("/api/v1/videos/generate", json={**BODY, "duration_seconds": args.duration})
        accepted.raise_for_status()
        video_id = accepted.json()["id"]
        deadline = time.monotonic() + args.timeout
        while True:
            video = client.get(f"/api/v1/videos/{video_id}").json()
            if video["status"] in ("COMPLETED", "FAILED", "CANCELLED"):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{video_id} still {video['status']} after {args.timeout:.0f} s")
            time.sleep(0.25)
        if video["status"] != "COMPLETED":
            raise RuntimeError(f"{video_id} ended {video['status']}: {video['error']}")
        os.environ["DAGSTER_HOME"] = env["DAGSTER_HOME"]
        import dagster as dg

        runs = dg.DagsterInstance.get().get_runs(filters=dg.RunsFilter(tags={"dagster/partition": video_id}))
        run = runs[-1]
        record = _run_record(run.run_id)
        events = _events(run.run_id)
        return {"video": video, "run_created": record.create_timestamp.timestamp(), "events": events}
    finally:
        if not args.keep:
            os.killpg(stack.pid, signal.SIGTERM)
            try:
                stack.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(stack.pid, signal.SIGKILL)
        print(f"NEXUS_HOME {home}{' (stack left running)' if args.keep else ''}")


def report(data: dict[str, Any]) -> dict[str, Any]:
    video, events = data["video"], data["events"]
    accepted = _ts(video["created_at"])
    processing = _ts(video["started_at"])
    first = {kind: ts for kind, step, ts in reversed(events) if step is None}
    dequeued = first.get("PIPELINE_STARTING", data["run_created"])
    run_start = first["PIPELINE_START"]
    starts = {step: ts for kind, step, ts in events if kind == "STEP_START" and step}
    ends = {step: ts for kind, step, ts in events if kind == "STEP_SUCCESS" and step}
    order = sorted(starts, key=starts.__getitem__)
    steps = []
    for step in order:
        ready = max([ends[s] for s in ends if ends[s] <= starts[step]] or [run_start])
        steps.append({"step": step, "start_gap_s": round(starts[step] - ready, 2),
                      "busy_s": round(ends.get(step, starts[step]) - starts[step], 2),
                      "asset_s": video["timings"].get(step)})
    gaps = [s["start_gap_s"] for s in steps]
    summary = {
        "accepted_to_run_created_s": round(data["run_created"] - accepted, 2),
        "run_created_to_dequeued_s": round(dequeued - data["run_created"], 2),
        "dequeued_to_run_start_s": round(run_start - dequeued, 2),
        "accepted_to_processing_s": round(processing - accepted, 2),
        "per_step_start_gap_mean_s": round(sum(gaps) / len(gaps), 2) if gaps else None,
        "per_step_start_gap_max_s": max(gaps) if gaps else None,
        "accepted_to_completed_s": round(_ts(video["completed_at"]) - accepted, 2),
        "steps": steps,
    }
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=5, help="the video's seconds (default 5)")
    parser.add_argument("--port-base", type=int, default=18400, help="UI, API, broker on this port and the next two")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds to wait after the stack is up")
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--keep", action="store_true", help="leave the stack running")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    summary = report(measure(args))
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    for key, value in summary.items():
        if key != "steps":
            print(f"{key:32} {value}")
    print(f"{'step':22} {'start gap s':>11} {'busy s':>7} {'asset s':>8}")
    for step in summary["steps"]:
        print(f"{step['step']:22} {step['start_gap_s']:11.2f} {step['busy_s']:7.2f} {step['asset_s'] or 0:8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
