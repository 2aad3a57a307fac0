"""Run tags: one builder for every path; the owner always present, the prompt and title short."""

from __future__ import annotations

import pytest

from nexus_core.run_tags import (
    PROMPT_TAG,
    SOURCE_TAG,
    TITLE_TAG,
    USER_TAG,
    RunSource,
    missing_tags,
    run_tags,
    short_text,
)


def test_every_run_has_an_owner_and_a_known_source() -> None:
    assert run_tags(source="api", user_id="alice") == {USER_TAG: "alice", SOURCE_TAG: "api"}
    assert run_tags(source=RunSource.CLI, user_id=None, video_id="v1")[USER_TAG] == "local"
    with pytest.raises(ValueError):
        run_tags(source="somewhere", user_id="alice")


def test_prompt_and_title_are_cut_to_one_short_line() -> None:
    tags = run_tags(source="kafka", user_id="bob", prompt="How\nbees\ttalk to each other by dancing in the hive",
                    title="Bees " * 40)
    assert tags[PROMPT_TAG] == "How bees talk to each other by dancing…"
    assert len(tags[TITLE_TAG]) <= 80 and tags[TITLE_TAG].endswith("…")
    assert short_text("蜜蜂如何交流" * 30).endswith("…") and len(short_text("蜜蜂如何交流" * 30)) == 80
    assert short_text("Short prompt") == "Short prompt"


def test_a_ui_launch_gets_what_it_lacks_and_keeps_what_it_has() -> None:
    ui = missing_tags({"dagster/partition": "v1"}, user_id="alice", prompt="Tides", title=None)
    assert ui == {USER_TAG: "alice", SOURCE_TAG: "ui", PROMPT_TAG: "Tides"}
    backfill = missing_tags({"dagster/backfill": "b1", SOURCE_TAG: "backfill", USER_TAG: "alice"},
                            user_id="alice", prompt="Tides", title="The Tides")
    assert backfill == {PROMPT_TAG: "Tides", TITLE_TAG: "The Tides"}
    assert missing_tags({"dagster/backfill": "b1"}, user_id=None, prompt=None, title=None)[SOURCE_TAG] == "backfill"
