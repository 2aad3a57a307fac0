"""stable_hash: the input hash a phase keys its reuse by."""

from __future__ import annotations

from nexus_core.hashing import stable_hash
from nexus_core.models import VideoRequest

REQUEST = VideoRequest(prompt="A lighthouse in a storm at night", duration_seconds=5)


def test_the_same_parts_hash_the_same_across_calls() -> None:
    assert stable_hash("voice", {"text": "hi", "speed": 1.0}) == stable_hash("voice", {"text": "hi", "speed": 1.0})


def test_the_hash_is_16_hex_digits() -> None:
    digest = stable_hash("anything")
    assert len(digest) == 16 and int(digest, 16) >= 0


def test_dict_key_order_does_not_change_the_hash() -> None:
    assert stable_hash({"a": 1, "b": 2}) == stable_hash({"b": 2, "a": 1})


def test_any_changed_part_changes_the_hash() -> None:
    base = stable_hash("clip", 1, {"zoom": 1.1})
    assert stable_hash("clip", 2, {"zoom": 1.1}) != base
    assert stable_hash("clip", 1, {"zoom": 1.2}) != base
    assert stable_hash("clip", 1) != base


def test_part_boundaries_count() -> None:
    assert stable_hash("ab", "c") != stable_hash("a", "bc")


def test_a_pydantic_model_hashes_as_its_json_form() -> None:
    assert stable_hash(REQUEST) == stable_hash(REQUEST.model_dump(mode="json"))
    other = REQUEST.model_copy(update={"prompt": "A lighthouse in a calm sea at dawn"})
    assert stable_hash(other) != stable_hash(REQUEST)


def test_non_ascii_text_is_hashed_as_text() -> None:
    assert stable_hash("café") != stable_hash("cafe")
    assert stable_hash("日本") == stable_hash("日本")
