"""`python -m nexus_cli.local_daemon run -w workspace.yaml`: the Dagster daemon for `nexus up`, with a 0.5 s
sensor loop instead of Dagster's fixed 5 s.

Dagster's sensor daemon sleeps until 5 s have passed since the start of each loop
(dagster._daemon.sensor.MIN_INTERVAL_LOOP_TIME), whatever the sensors' minimum_interval_seconds say: a
local request waited ~4 s of its 12 s in QUEUED on that alone (bench/local_latency.py). A sensor runs
when its minimum_interval_seconds (1 s for ours) has passed at a loop's start, so a loop of half that
keeps it close to once a second. Locally the request sensor is a short Kafka poll, so the loop costs
little; production keeps Dagster's own daemon.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

LOCAL_SENSOR_LOOP_S = 0.5


def shorten_sensor_loop(seconds: float = LOCAL_SENSOR_LOOP_S) -> None:
    """Set the sensor daemon's loop time (a module constant of the pinned dagster) before the daemon starts."""
    import dagster._daemon.sensor as sensor_daemon

    if not isinstance(getattr(sensor_daemon, "MIN_INTERVAL_LOOP_TIME", None), int | float):
        raise RuntimeError("this dagster has no dagster._daemon.sensor.MIN_INTERVAL_LOOP_TIME: check the pin")
    # dagster infers int from `= 5`; it is only used in `max(0, MIN_INTERVAL_LOOP_TIME - loop_duration)` (float s)
    sensor_daemon.MIN_INTERVAL_LOOP_TIME = seconds  # type: ignore[assignment]


def main(argv: Sequence[str] | None = None) -> int:
    shorten_sensor_loop()
    from dagster._daemon.cli import cli

    return int(cli.main(args=list(argv if argv is not None else sys.argv[1:]), prog_name="dagster-daemon",
                        standalone_mode=True) or 0)


if __name__ == "__main__":
    sys.exit(main())
