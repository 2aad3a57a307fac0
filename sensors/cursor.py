"""The position of a topic reader, kept in the sensor cursor as JSON: the next offset of each partition."""

from __future__ import annotations

import json


def load_offsets(cursor: str | None) -> dict[int, int]:
    """{partition: next offset} from a cursor (empty for a first tick or an unreadable cursor)."""
    if not cursor:
        return {}
    try:
        data = json.loads(cursor)
        return {int(p): int(o) for p, o in data.get("offsets", {}).items()}
    except (ValueError, AttributeError, TypeError):
        return {}


def dump_offsets(offsets: dict[int, int]) -> str:
    known = {str(p): o for p, o in sorted(offsets.items()) if o >= 0}  # negative: not read yet (from the start)
    return json.dumps({"v": 1, "offsets": known}, separators=(",", ":"))
