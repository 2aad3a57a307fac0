"""Stable content hashes: the input hash that lets a phase reuse what it already made."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def stable_hash(*parts: Any) -> str:
    """SHA-256 (hex, 16 chars) of the JSON form of parts; pydantic models are dumped first."""
    norm = [p.model_dump(mode="json") if hasattr(p, "model_dump") else p for p in parts]
    blob = json.dumps(norm, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
