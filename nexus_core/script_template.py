"""The embedded script writer: a deterministic scenario built from the prompt's own words."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from nexus_core import prompts
from nexus_core.media.timeline import VOICE_LEAD_S
from nexus_core.models import CameraAngle, Scenario, Scene, VideoRequest
from nexus_core.scenario_check import count_words

TARGET_WORDS_PER_SECOND = 2.5
DIALOGUE_TAIL_S = 0.4  # planned breathing room after each line, on top of the voice lead
SECONDS_PER_SCENE = 6.5
TOPIC_MAX_WORDS = 12
PHRASE_MAX_WORDS = 5
TITLE_MAX_CHARS = 100

_TOKEN = re.compile(r"[^\W\d_][\w'’-]*|\d[\w'’.-]*|[,;:.!?]")
_SENTENCE_END = re.compile(r"[.!?;\n]+\s*")
_ELISION = re.compile(r"^(?:l|d|j|qu|s|c|n|m|t)['’]", re.IGNORECASE)
_OPENING_ANGLES = (CameraAngle.WIDE, CameraAngle.AERIAL)
_BODY_ANGLES = (
    CameraAngle.MEDIUM,
    CameraAngle.CLOSE_UP,
    CameraAngle.TRACKING,
    CameraAngle.LOW_ANGLE,
    CameraAngle.AERIAL,
    CameraAngle.WIDE,
)
T = TypeVar("T")


@dataclass(frozen=True)
class PromptSubject:
    """What a prompt is about: a topic phrase, its noun phrases, content keywords and a lighting theme."""

    topic: str
    phrases: tuple[str, ...]
    keywords: tuple[str, ...]
    theme: str
    from_prompt: bool


@dataclass(frozen=True)
class _Vocabulary:
    breaks: frozenset[str]
    articles: frozenset[str]

    @classmethod
    def for_language(cls, language: str) -> _Vocabulary:
        langs = {language, "en"}
        return cls(
            breaks=frozenset().union(*(prompts.BREAK_WORDS.get(lang, frozenset()) for lang in langs)),
            articles=frozenset().union(*(prompts.ARTICLES.get(lang, frozenset()) for lang in langs)),
        )

    def is_stop(self, word: str) -> bool:
        low = word.lower()
        return low in self.breaks or low in self.articles or low in prompts.FILLER_WORDS

    def is_article(self, word: str) -> bool:
        return word.lower() in self.articles


def strip_format_words(prompt: str) -> str:
    """The prompt without production details (length, kind of video, resolution, music)."""
    text = prompt
    for pattern in prompts.FORMAT_PATTERNS:
        text = re.sub(pattern, " ", text, flags=re.IGNORECASE)
    text = re.sub(r"\s+([,;:.!?])", r"\1", re.sub(r"\s+", " ", text))
    text = re.sub(r"([,;:])(?:\s*[,;:])+", r"\1", text)
    return text.strip(" ,;:-")


def _strip_instructions(text: str) -> str:
    for pattern in prompts.INSTRUCTION_PATTERNS:
        text = re.sub(pattern, "", text, count=1, flags=re.IGNORECASE)
    return text.strip()


def _phrases(tokens: list[str], vocab: _Vocabulary) -> list[str]:
    """Runs of words between punctuation and break words, keeping a leading article."""
    runs: list[list[str]] = [[]]
    for token in tokens:
        if not token[0].isalnum() or token.lower() in vocab.breaks:
            runs.append([])
        else:
            runs[-1].append(token)
    found: dict[str, str] = {}
    for run in runs:
        while run and vocab.is_stop(run[-1]):
            run.pop()
        start = 0
        while start < len(run) and vocab.is_stop(run[start]) and not vocab.is_article(run[start]):
            start += 1
        if len(run) - start > PHRASE_MAX_WORDS and vocab.is_article(run[start]):
            start += 1
        words = run[start : start + PHRASE_MAX_WORDS]
        if any(not vocab.is_stop(w) for w in words):
            if vocab.is_article(words[0]):
                words = [words[0].lower(), *words[1:]]
            phrase = " ".join(words)
            found.setdefault(phrase.lower(), phrase)
    return list(found.values())


def _keywords(tokens: list[str], vocab: _Vocabulary) -> list[str]:
    counts: dict[str, int] = {}
    for token in tokens:
        word = _ELISION.sub("", token).lower().strip("'’-")
        if len(word) >= 3 and word.isalpha() and not vocab.is_stop(word):
            counts[word] = counts.get(word, 0) + 1
    return sorted(counts, key=lambda w: -counts[w])  # stable: ties keep prompt order


def read_prompt(prompt: str, language: str) -> PromptSubject:
    """Topic, noun phrases, keywords and theme of a prompt, read with the language's function words."""
    vocab = _Vocabulary.for_language(language)
    prompt = strip_format_words(prompt) or prompt
    sentences = [s for s in _SENTENCE_END.split(prompt) if _TOKEN.search(s)]
    if sentences:
        sentences[0] = _strip_instructions(sentences[0])
    phrases = list(dict.fromkeys(p for s in sentences for p in _phrases(_TOKEN.findall(s), vocab)))
    keywords = _keywords([t for s in sentences for t in _TOKEN.findall(s) if t[0].isalnum()], vocab)
    first_clause = re.split(r"[,:;]", sentences[0])[0] if sentences else ""
    topic_words = [t for t in _TOKEN.findall(first_clause) if t[0].isalnum()][:TOPIC_MAX_WORDS]
    while topic_words and vocab.is_stop(topic_words[-1]):
        topic_words.pop()
    if topic_words and vocab.is_article(topic_words[0]):
        topic_words[0] = topic_words[0].lower()
    theme = prompts.strongest_theme(keywords) or "default"
    if not phrases or not topic_words:
        fallback = prompts.FALLBACK_TOPIC.get(language, prompts.FALLBACK_TOPIC["en"])
        return PromptSubject(fallback, (fallback,), tuple(keywords), theme, False)
    return PromptSubject(" ".join(topic_words), tuple(phrases), tuple(keywords), theme, True)


def plan_durations(total_s: float, rng: random.Random) -> list[float]:
    """Scene lengths (0.1 s steps) that sum exactly to total_s: about one scene per 6.5 s, 2+ from 10 s."""
    count = 1 if total_s < 10 else max(2, round(total_s / SECONDS_PER_SCENE))
    weights = [rng.uniform(0.85, 1.15) for _ in range(count)]
    units = round(total_s * 10)
    parts = [max(10, int(units * w / sum(weights))) for w in weights[:-1]]
    parts.append(units - sum(parts))
    return [p / 10 for p in parts]


def _role(index: int, count: int) -> str:
    if index == 0:
        return "intro"
    return "outro" if index == count - 1 else "body"


def _capitalize(text: str) -> str:
    return text[:1].upper() + text[1:]


def _without_article(phrase: str, vocab: _Vocabulary) -> str:
    first, _, rest = phrase.partition(" ")
    return rest if rest and vocab.is_article(first) else phrase


def _truncate(sentence: str, words: int) -> str:
    return " ".join(sentence.split()[:words]).rstrip(",:;.!?") + "."


class _DialogueWriter:
    """Picks template sentences that fit a word budget, preferring ones not said yet."""

    def __init__(self, language: str, rng: random.Random) -> None:
        self.templates = prompts.DIALOGUE.get(language, prompts.DIALOGUE["en"])
        self.rng = rng
        self.used: set[str] = set()

    def _candidates(self, roles: tuple[str, ...], slots: dict[str, str | None]) -> list[str]:
        out = [t for role in roles for t in self.templates[role] if "{b}" not in t or slots["b"] is not None]
        self.rng.shuffle(out)
        return out

    def write(self, role: str, slots: dict[str, str | None], budget: int) -> str:
        """Sentences for one scene; after each one the two phrases swap so lines do not repeat a subject."""
        slot_sets = [slots, {**slots, "a": slots["b"], "b": slots["a"]}] if slots["b"] else [slots]
        roles = (role,) if role == "body" else (role, "body")
        templates = self._candidates(roles, slots)
        templates.sort(key=lambda t: (t not in self.templates[role], t.format(**slots) in self.used))
        chosen: list[tuple[str, str]] = []
        spent = mentions = 0
        for template in templates:
            sentence = _capitalize(template.format(**slot_sets[mentions % len(slot_sets)]))
            words = count_words(sentence)
            if spent + words <= budget:
                chosen.append((template, sentence))
                spent += words
                mentions += "{a}" in template
        if not chosen and budget > 0:
            shortest = min(self.templates[role], key=lambda t: count_words(t.format(**slot_sets[-1])))
            chosen = [(shortest, _truncate(_capitalize(shortest.format(**slots)), budget))]
        if role == "outro":  # closing lines go last, in the order they are listed
            order = self.templates[role]
            chosen.sort(key=lambda pair: order.index(pair[0]) if pair[0] in order else -1)
        self.used.update(s for _, s in chosen)
        return " ".join(s for _, s in chosen)


def _word_budget(duration_s: float) -> int:
    return max(0, int(TARGET_WORDS_PER_SECOND * (duration_s - VOICE_LEAD_S - DIALOGUE_TAIL_S)))


def _pick_different(options: Sequence[T], previous: T | None, rng: random.Random) -> T:
    choices = [o for o in options if o != previous] or list(options)
    return rng.choice(choices)


def write_template_scenario(request: VideoRequest, *, video_id: str) -> Scenario:
    """A deterministic intro / body / outro scenario whose words come from the request's prompt."""
    rng = random.Random(request.seed(video_id, "script-template"))
    language = request.language.value
    vocab = _Vocabulary.for_language(language)
    subject = read_prompt(request.prompt, language)
    durations = plan_durations(request.duration_seconds, rng)
    moods = prompts.MOODS[request.music_style.value]
    lighting_pool = prompts.LIGHTING[subject.theme]
    dialogue = _DialogueWriter(language, rng)
    phrases = subject.phrases
    scenes: list[Scene] = []
    angle: CameraAngle | None = None
    lighting: str | None = None
    for index, duration in enumerate(durations):
        role = _role(index, len(durations))
        a = phrases[index % len(phrases)] if role != "outro" else phrases[0]
        b_options = [p for p in phrases if p.lower() not in a.lower()]
        b = b_options[index % len(b_options)] if b_options else None
        angle = _pick_different(_BODY_ANGLES if role == "body" else _OPENING_ANGLES, angle, rng)
        lighting = _pick_different(lighting_pool, lighting, rng)
        slots = {"topic": subject.topic, "a": a, "b": b}
        templates = [t for t in prompts.DESCRIPTIONS[role] if "{b}" not in t or b is not None]
        description = _capitalize(
            rng.choice(templates).format(angle=angle.value, lighting=lighting, mood=rng.choice(moods), **slots)
        )
        elements = [_without_article(p, vocab) for p in (a, b) if p]
        elements += [k for k in subject.keywords if all(k not in e.lower() for e in elements)][:2]
        scenes.append(
            Scene(
                scene_number=index + 1,
                duration_seconds=duration,
                description=description,
                visual_elements=elements[:4],
                dialogue=dialogue.write(role, slots, _word_budget(duration)),
                camera_angle=angle,
                lighting=lighting,
            )
        )
    title_source = subject.topic if subject.from_prompt else request.prompt
    return Scenario(title=_capitalize(_clip(title_source, TITLE_MAX_CHARS)), scenes=scenes)


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] or text[:limit]
