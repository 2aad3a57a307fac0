"""The LLM script writer: OpenAI or any OpenAI-compatible server (vLLM, Ollama), structured output, one
repair round, retries and a circuit breaker, with the template writer as the fallback."""

from __future__ import annotations

import logging
import math
import re
from functools import lru_cache
from typing import Any

import httpx
import openai

from nexus_core import prompts
from nexus_core.hashing import stable_hash
from nexus_core.media.timeline import VOICE_LEAD_S
from nexus_core.models import Aspect, CameraAngle, Made, Scenario, VideoRequest
from nexus_core.resilience import ApiFailure
from nexus_core.scenario_check import MAX_WORDS_PER_SECOND, MIN_SCENE_S, check_scenario
from nexus_core.scenario_schema import scenario_json_schema
from nexus_core.script_template import SECONDS_PER_SCENE, TARGET_WORDS_PER_SECOND
from resources.provider_support import HostedProvider, ProviderUnavailableError, fallback_label
from resources.script_writer import ScriptWriter, template_fallback

log = logging.getLogger(__name__)

SCHEMA_NAME = "scenario"
_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


class InvalidScenarioError(ValueError):
    """The model's answer is still not a valid scenario after the repair round."""


def _failure(exc: BaseException) -> ApiFailure | None:
    """How an OpenAI SDK call failed; None for anything that is not an API failure."""
    if isinstance(exc, openai.APIStatusError):
        quota_spent = exc.status_code == 429 and exc.code == "insufficient_quota"
        return ApiFailure(exc.status_code, dict(exc.response.headers), permanent=quota_spent)
    if isinstance(exc, openai.APIConnectionError | httpx.TransportError):
        return ApiFailure(None)
    return None


@lru_cache(maxsize=8)
def _client(api_key: str, base_url: str | None, timeout_s: float) -> openai.OpenAI:
    # The SDK's own retries are off: ours honour Retry-After and feed the circuit breaker.
    return openai.OpenAI(api_key=api_key, base_url=base_url, timeout=timeout_s, max_retries=0)


def _orientation(aspect: Aspect) -> str:
    return {Aspect.LANDSCAPE: "landscape", Aspect.PORTRAIT: "portrait", Aspect.SQUARE: "square"}[aspect]


def build_messages(request: VideoRequest) -> list[dict[str, str]]:
    """The system and user messages that ask for a scenario for this request."""
    language = prompts.LANGUAGE_NAMES.get(request.language.value, request.language.value)
    system = prompts.SCRIPT_SYSTEM_PROMPT.format(
        min_scene_s=MIN_SCENE_S,
        language=language,
        camera_angles=", ".join(f'"{angle.value}"' for angle in CameraAngle),
        duration_s=request.duration_seconds,
        max_wps=MAX_WORDS_PER_SECOND,
        lead_s=VOICE_LEAD_S,
        target_wps=TARGET_WORDS_PER_SECOND,
    )
    user = prompts.SCRIPT_USER_PROMPT.format(
        duration_s=request.duration_seconds,
        scene_count=max(1, math.ceil(request.duration_seconds / SECONDS_PER_SCENE)),
        language=language,
        aspect=request.aspect.value,
        orientation=_orientation(request.aspect),
        music_style=request.music_style.value,
        prompt=request.prompt,
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def unfence(content: str) -> str:
    """The JSON inside a ```json fence, as servers without strict mode sometimes send it."""
    match = _FENCE.match(content)
    return match.group(1) if match else content.strip()


class OpenAIScriptWriter(ScriptWriter, HostedProvider):
    """Scenarios from a chat model with the scenario JSON schema as structured output. Invalid answers get
    one repair round; while the API fails (or the breaker is open) the template writer takes over, and
    the result says so (Made.fallback). Valid scenarios are cached by (prompt, parameters, model), see cache_key."""

    api_key: str = ""
    base_url: str | None = None  # unset: api.openai.com; else any OpenAI-compatible /v1 endpoint
    model: str = "gpt-4o-mini"
    temperature: float | None = 0.7  # None: the server's default (reasoning models accept no other)
    strict_schema: bool = True

    def endpoint(self) -> str:
        return f"openai:{self.base_url or 'default'}"

    def service_label(self) -> str:
        return f"openai:{self.model}"

    def provider_name(self) -> str:
        return self.service_label()

    def cache_key(self, request: VideoRequest) -> str:
        """Hash of what determines the answer: the messages (prompt and the parameters that reach the
        model), the model and its settings, and the repair prompt. Resolution or voice changes still hit."""
        return stable_hash(
            "openai-scenario", build_messages(request), self.model, self.temperature, self.strict_schema,
            prompts.SCRIPT_REPAIR_PROMPT,
        )

    def write(self, request: VideoRequest, *, video_id: str) -> Made[Scenario]:
        key = self.cache_key(request)
        cache = self.cache()
        cached = cache.read_json(key) if cache else None
        if cached is not None and not check_scenario(cached.get("scenario", {}), request):
            return Made(Scenario.model_validate(cached["scenario"]), f"{self.service_label()} (cached)")
        try:
            scenario, repaired = self._ask(request)
        except (ProviderUnavailableError, InvalidScenarioError) as exc:
            log.warning("script writer %s failed (%s); using the template writer", self.service_label(), exc)
            label = fallback_label("template", self.service_label(), str(exc))
            return template_fallback(request, video_id=video_id, label=label)
        if cache:
            cache.write_json(key, {"model": self.model, "repaired": repaired,
                                   "scenario": scenario.model_dump(mode="json")})
        return Made(scenario, self.service_label() + (" (repaired)" if repaired else ""))

    def _ask(self, request: VideoRequest) -> tuple[Scenario, bool]:
        """A valid scenario and whether it needed the repair round."""
        messages = build_messages(request)
        problems: list[str] = []
        for repair in (False, True):
            content = self._complete(messages)
            problems = check_scenario(content, request) if content is not None else ["the model refused"]
            if not problems:
                return Scenario.model_validate_json(content or ""), repair
            if content is None:
                break
            messages = [
                *messages,
                {"role": "assistant", "content": content},
                {"role": "user", "content": prompts.SCRIPT_REPAIR_PROMPT.format(
                    problems="\n".join(f"- {p}" for p in problems), duration_s=request.duration_seconds)},
            ]
        raise InvalidScenarioError("; ".join(problems))

    def _complete(self, messages: list[dict[str, str]]) -> str | None:
        """The model's JSON answer (fences removed), or None when it refused."""
        response_format: Any = {
            "type": "json_schema",
            "json_schema": {"name": SCHEMA_NAME, "schema": scenario_json_schema(), "strict": self.strict_schema},
        }
        client = _client(self.api_key or "unset", self.base_url, self.timeout_s)
        completion = self.call_api(
            lambda: client.chat.completions.create(
                model=self.model,
                messages=messages,  # type: ignore[arg-type]
                response_format=response_format,
                temperature=openai.omit if self.temperature is None else self.temperature,
            ),
            classify=_failure,
        )
        message = completion.choices[0].message
        if message.refusal or message.content is None:
            return None
        return unfence(message.content)
