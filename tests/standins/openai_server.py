"""An OpenAI stand-in: POST /v1/chat/completions with a json_schema response format, answered with
scripted message contents in the API's own wire format (and its 400 for a schema strict mode rejects)."""

from __future__ import annotations

import itertools
import json
import math
import re
import time
from typing import Any

from tests.standins.http_standin import Recorded, Reply, StandIn, error_reply

_IDS = itertools.count(1)
_DURATION = re.compile(r"Duration: (\d+) seconds")
SCENE_S = 6


def planned_scenario(duration_s: float, *, title: str = "A stand-in story") -> dict[str, Any]:
    """A valid scenario of duration_s: scenes of at most SCENE_S seconds, each with a short line."""
    count = max(1, math.ceil(duration_s / SCENE_S))
    each = round(duration_s / count, 2)
    durations = [each] * (count - 1) + [round(duration_s - each * (count - 1), 2)]
    scenes = [
        {
            "scene_number": number,
            "duration_seconds": seconds,
            "description": f"Wide view {number} of a quiet harbour at dawn",
            "visual_elements": ["harbour", "boats"],
            "dialogue": "Here the story goes on.",
            "camera_angle": "wide",
            "lighting": "soft morning light",
        }
        for number, seconds in enumerate(durations, start=1)
    ]
    return {"title": title, "scenes": scenes}


def chat_completion(content: str | None, *, model: str, refusal: str | None = None) -> dict[str, Any]:
    """A chat.completion object with one choice carrying `content` (or a refusal)."""
    return {
        "id": f"chatcmpl-standin-{next(_IDS)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": refusal, "annotations": []},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 400, "completion_tokens": 300, "total_tokens": 700},
    }


def strict_schema_problems(node: Any, where: str = "schema") -> list[str]:
    """What strict structured output refuses: objects must list every property as required and forbid others."""
    problems: list[str] = []
    if isinstance(node, dict):
        if node.get("type") == "object":
            if node.get("additionalProperties") is not False:
                problems.append(f"{where}: 'additionalProperties' must be false")
            if sorted(node.get("required", [])) != sorted(node.get("properties", {})):
                problems.append(f"{where}: every property must be required")
        if "default" in node:
            problems.append(f"{where}: 'default' is not permitted")
        for key, value in node.items():
            problems += strict_schema_problems(value, f"{where}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            problems += strict_schema_problems(value, f"{where}[{index}]")
    return problems


class OpenAIStandIn(StandIn):
    """Answers chat completions with `contents` queued by the test (each used once), in order."""

    def __init__(self) -> None:
        super().__init__(self._default, self._check_request)
        self.plans_from_prompt = False  # True: answer any request with planned_scenario(its duration)

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def answer_with(self, *contents: str | None, model: str = "gpt-4o-mini") -> None:
        """Queue assistant answers (None: a refusal)."""
        self.queue(*(
            Reply(200, chat_completion(c, model=model, refusal=None if c is not None else "I can't help with that."))
            for c in contents
        ))

    def rate_limit(self, *, retry_after_s: int = 1) -> None:
        """Queue one 429 with a Retry-After header."""
        self.queue(Reply(429, {"error": {"message": "Rate limit reached", "type": "requests", "code": None}},
                         {"retry-after": str(retry_after_s)}))

    def _check_request(self, request: Recorded) -> Reply | None:
        if request.path != "/v1/chat/completions" or request.method != "POST":
            return error_reply(404, f"unknown route {request.method} {request.path}")
        if not request.headers.get("authorization", "").startswith("Bearer "):
            return error_reply(401, "missing bearer token")
        body = request.json()
        fmt = body.get("response_format") or {}
        if fmt.get("type") != "json_schema" or "schema" not in fmt.get("json_schema", {}):
            return error_reply(400, "response_format must be a json_schema")
        if fmt["json_schema"].get("strict"):
            problems = strict_schema_problems(fmt["json_schema"]["schema"])
            if problems:
                return error_reply(400, "Invalid schema for response_format: " + "; ".join(problems))
        return None

    def _default(self, request: Recorded) -> Reply:
        body = request.json()
        asked = _DURATION.search(" ".join(m["content"] for m in body["messages"])) if self.plans_from_prompt else None
        if asked is None:
            return error_reply(400, "stand-in: no answer scripted")
        return Reply(200, chat_completion(json.dumps(planned_scenario(int(asked.group(1)))), model=body["model"]))

    def chat_requests(self) -> list[Recorded]:
        return self.calls("/chat/completions")
