"""The tags every make_video run carries: whose video, where the request came from, what it is about.

One builder for every path that starts a run (the CLI, the API's dispatcher, the Kafka sensor, the
stuck-video sensor, backfills) and for the first asset of a run launched from the Dagster UI, which adds
what its launcher could not know. `nexus/user` is what the production instance's per-user run limit
(deploy/dagster.production.yaml, tag_concurrency_limits) counts, so every run must carry it.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

PARTITION_TAG = "dagster/partition"
BACKFILL_TAG = "dagster/backfill"
USER_TAG = "nexus/user"
SOURCE_TAG = "nexus/source"
PROMPT_TAG = "nexus/prompt"
TITLE_TAG = "nexus/title"

LOCAL_USER = "local"  # videos made from the command line belong to no account
PROMPT_WORDS = 8
TITLE_WORDS = 20
TAG_VALUE_CHARS = 80  # the UI's run list shows about this much of a tag


class RunSource(StrEnum):
    """Where a run's request came from."""

    CLI = "cli"  # nexus generate
    API = "api"  # the REST API's dispatcher
    KAFKA = "kafka"  # a message on video.generation.requests from another producer
    BACKFILL = "backfill"  # nexus backfill, or a backfill launched from the UI
    RESUBMIT = "resubmit"  # the stuck-video sensor submitted a QUEUED video again
    UI = "ui"  # a run launched by hand in the Dagster UI or with `dagster asset materialize`


def short_text(text: str, *, words: int = PROMPT_WORDS, limit: int = TAG_VALUE_CHARS) -> str:
    """The first `words` words of a text on one line, at most `limit` characters, with … when cut."""
    parts = "".join(c if c.isprintable() else " " for c in text).split()
    out = " ".join(parts[:words])
    cut = len(parts) > words
    if len(out) > limit:
        out, cut = out[: limit - 1].rstrip(), True
    return f"{out}…" if cut and out else out


def run_tags(
    *,
    source: RunSource | str,
    user_id: str | None,
    video_id: str | None = None,
    prompt: str | None = None,
    title: str | None = None,
) -> dict[str, str]:
    """The run's tags: user (LOCAL_USER when the video has no owner), source, partition, prompt, title."""
    tags = {USER_TAG: user_id or LOCAL_USER, SOURCE_TAG: RunSource(source).value}
    if video_id is not None:
        tags[PARTITION_TAG] = video_id
    if prompt:
        tags[PROMPT_TAG] = short_text(prompt)
    if title:
        tags.update(title_tag(title))
    return tags


def title_tag(title: str) -> dict[str, str]:
    """The `nexus/title` tag, once the script phase has named the video."""
    return {TITLE_TAG: short_text(title, words=TITLE_WORDS)}


def source_of_launch(tags: Mapping[str, str]) -> RunSource:
    """The source of a run whose launcher set none: a backfill's run, else one launched by hand."""
    return RunSource.BACKFILL if BACKFILL_TAG in tags else RunSource.UI


def missing_tags(
    existing: Mapping[str, str], *, user_id: str | None, prompt: str | None, title: str | None
) -> dict[str, str]:
    """The tags a running run lacks (a UI launch carries none of ours; the title comes after the script)."""
    wanted = run_tags(source=source_of_launch(existing), user_id=user_id, prompt=prompt, title=title)
    return {k: v for k, v in wanted.items() if k not in existing}
