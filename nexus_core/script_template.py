"""The embedded script writer: a deterministic scenario built from the prompt's own words."""

from __future__ import annotations

import math
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from nexus_core import prompts
from nexus_core.lexicon import AMBIGUOUS_SENSES, LexEntry, WordNet, context_words
from nexus_core.media.timeline import VOICE_LEAD_S
from nexus_core.models import CameraAngle, Scenario, Scene, VideoRequest
from nexus_core.narration import (
    broader_sentence,
    definition_sentences,
    facts_about,
    naming_in_prompt,
    subject_name,
)
from nexus_core.scenario_check import count_words

TARGET_WORDS_PER_SECOND = 2.3  # the neural voice speaks ~2.6 words/s with pauses between phrases
DIALOGUE_TAIL_S = 0.4  # planned breathing room after each line, on top of the voice lead
SPEECH_SHARE = 0.9  # at most this share of the video is planned as speech; the rest lets pictures breathe
MIN_SILENT_SCENE_S = 2.0
SECONDS_PER_SCENE = 6.5
TOPIC_MAX_WORDS = 12
PHRASE_MAX_WORDS = 5
TITLE_MAX_CHARS = 100

_TOKEN = re.compile(r"[^\W\d_][\w'’-]*|\d[\w'’.-]*|[,;:.!?]")
_SENTENCE_END = re.compile(r"[.!?;\n。！？；।]+\s*")
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


def _capitalize(text: str) -> str:
    return text[:1].upper() + text[1:]


def _without_article(phrase: str, vocab: _Vocabulary) -> str:
    first, _, rest = phrase.partition(" ")
    return rest if rest and vocab.is_article(first) else phrase


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] or text[:limit]


# --- what the narration says ---------------------------------------------------------------------------

LONG_PROMPT_WORDS = 12  # a prompt sentence this long (or two sentences) is narrated as written
_QUOTED_EXAMPLE = re.compile(r'"[^"]*"')
# Words a definition leans on that say nothing by themselves when explained ("a kind of ...").
_COMMON = (
    "kind type form part member piece area region place person people thing something way use number amount "
    "group set body state act process time period one "
    # units and spans: "4,000 miles" needs no definition of a mile (and Lesk would find the Roman one)
    "mile kilometer kilometre meter metre yard foot inch pound ton century decade year month week day hour minute"
)
_COMMON_DEFINING = frozenset(_COMMON.split())
_QUESTION_WORDS = frozenset(["how", "why", "what", "when", "where", "who", "which"])


@dataclass(frozen=True)
class Line:
    """One sentence of narration and the phrase it is about (what its scene should show)."""

    text: str
    focus: str | None
    kind: str  # "prompt" | "fact" | "opening" | "closing"

    @property
    def words(self) -> int:
        return count_words(self.text)


def _spoken_sentence(text: str, language: str) -> str:
    text = re.sub(r"\s+", " ", text).strip(" ,;:-")
    if not text:
        return ""
    end = "。" if language in ("zh", "ja") else "।" if language == "hi" else "."
    return _capitalize(text) + ("" if text[-1] in ".!?。！？।…" else end)


def prompt_sentences(prompt: str, language: str) -> list[str]:
    """The prompt's own content as spoken sentences, in order: production details and a leading
    instruction ("Make a video about") removed."""
    text = strip_format_words(prompt) or ""
    pieces = [p for p in _SENTENCE_END.split(text) if _TOKEN.search(p)]
    ends = _SENTENCE_END.findall(text)
    out: list[str] = []
    for index, piece in enumerate(pieces):
        if index == 0:
            piece = _strip_instructions(piece)
        mark = ends[index].strip() if index < len(ends) else ""
        sentence = _spoken_sentence(piece + (mark if mark in ("?", "!", "？", "！") else ""), language)
        if count_words(sentence):
            out.append(sentence)
    return out


def _focus_of(sentence: str, phrases: Sequence[str]) -> str | None:
    low = sentence.lower()
    return next((p for p in phrases if p.lower() in low), None)


def _prompt_sense(lexicon: WordNet, run: str, prompt: str) -> LexEntry | None:
    """The sense of a noun the prompt names. A name (capitalized) is its first sense when the prompt says no
    more ("Paris": the capital of France); a common noun with several senses needs the prompt to say which,
    and prefers a thing to a person ("whales": the animal, not "a very large person")."""
    first = lexicon.entry(run)
    # capitalized mid-sentence, or a name in the dictionary too ("Paris ...", but not "Whales and ...")
    named = run[:1].isupper() and (prompt.find(run) > 0 or (first is not None and first.is_proper))
    return lexicon.sense(run, context_words(prompt), ambiguous_from=MAX_CLOSING_SENSES + 1 if named else
                         AMBIGUOUS_SENSES, prefer_things=not named)


def _fact_candidates(
    subject: PromptSubject, prompt: str, lexicon: WordNet, vocab: _Vocabulary
) -> list[tuple[str, str]]:
    """(phrase as written, lexicon key) for the nouns of the prompt the lexicon knows, in prompt order.

    Runs of up to three words come first ("black holes", "Marie Curie"); a single word must be a noun
    more than a verb ("work", "chase" are left out), specific (few senses) and, when the prompt writes it
    as a name (capitalized mid-sentence), a name in the lexicon too ("Mocha" the port is not mocha leather).
    """
    taken: list[str] = []
    found: list[tuple[int, str, str]] = []
    for phrase in (subject.topic, *subject.phrases):
        words = [w for w in phrase.split() if not vocab.is_stop(w) and w.lower() not in _QUESTION_WORDS]
        for size in range(min(3, len(words)), 0, -1):
            for start in range(len(words) - size + 1):
                run = " ".join(words[start : start + size]).removesuffix("'s").removesuffix("’s")
                lemma = lexicon.lemma(run)
                if lemma is None or lemma in taken or any(lemma in t.split("_") for t in taken):
                    continue
                if size == 1:
                    senses = lexicon.senses(run)
                    framing = run.islower() and re.search(rf"\b{re.escape(run)}\s+of\b", prompt)
                    following = words[start + 1] if start + 1 < len(words) else ""
                    modifier = bool(following) and lexicon.senses(following) > lexicon.other_senses(following)
                    numbered = following.isdigit()  # "Apollo 11", "Boeing 747": a mission, a model, not the name
                    if senses > 4 or lexicon.other_senses(run) >= senses or framing or modifier or numbered:
                        continue  # "work", "red", "a tour of", "bicycle (gears)": not what the video is about
                    entry = _prompt_sense(lexicon, run, prompt)
                    written_as_name = run[:1].isupper() and prompt.find(run) > 0
                    if entry is None or (written_as_name and not entry.is_proper and senses > 1):
                        continue
                taken.append(lemma)
                position = prompt.lower().find(run.lower())
                found.append((position if position >= 0 else len(prompt), run, lemma))
    found.sort()
    return [(run, lemma) for _, run, lemma in found]


def lexicon_facts(
    subject: PromptSubject, prompt: str, lexicon: WordNet | None, vocab: _Vocabulary, limit: int
) -> list[Line]:
    """Sentences about the prompt's nouns from the lexicon (English), in the order the prompt names them."""
    if lexicon is None or not subject.from_prompt:
        return []
    lines: list[Line] = []
    said: set[str] = set()
    context = context_words(prompt)
    for run, lemma in _fact_candidates(subject, prompt, lexicon, vocab):
        entry = _prompt_sense(lexicon, run, prompt)
        if entry is None or lemma in said:
            continue
        said.add(lemma)
        broader = lexicon.broader(entry)
        wider = broader_sentence(broader) if broader is not None else None
        for text in facts_about(entry, as_written=naming_in_prompt(prompt, run), broader=broader):
            # the sentence about the broader term shows that term ("a composer ..." after Mozart: a violin)
            lines.append(Line(text, broader.name if broader is not None and text == wider else run, "fact"))
        for term, related in _defining_terms(entry.gloss, lexicon, said, context):
            said.add(term)
            lines += [Line(text, related.name, "related") for text in definition_sentences(related)[:1]]
        if len(lines) >= limit:
            break
    return lines[:limit]


RELATED_PER_ENTRY = 3
MAX_CLOSING_SENSES = 8


_FUNCTION = frozenset(["it", "that", "which", "who", "they", "is", "was", "are", "were", "and", "or", "of", "in", "on",
                       "to", "for", "from", "with", "by", "as", "at"])


def _gerund(word: str, lexicon: WordNet) -> bool:
    """'drinking', 'preparing': a verb's -ing form in a definition is its action, not a thing to explain."""
    stem = word.lower().removesuffix("ing")
    return word.lower().endswith("ing") and lexicon.other_senses(stem) + lexicon.other_senses(stem + "e") > 0


def _defining_terms(
    gloss: str, lexicon: WordNet, said: set[str], context: frozenset[str] = frozenset()
) -> list[tuple[str, LexEntry]]:
    """The specific nouns a definition uses ("star", "gravitational field" for a black hole; "Nobel prize",
    "radium" for Marie Curie), with their own entries: what the narration can explain next."""
    words = re.findall(r"[A-Za-z][\w-]*", _QUOTED_EXAMPLE.sub("", gloss))
    # the noun that closes the definition's first clause is what it is defined by ("... collapse of a star"):
    # explained in its first sense even when it has many
    closing = len(re.findall(r"[A-Za-z][\w-]*", _QUOTED_EXAMPLE.sub("", gloss).split(";")[0])) - 1
    found: list[tuple[str, LexEntry]] = []
    start = 0
    while start < len(words) and len(found) < RELATED_PER_ENTRY:
        for size in (3, 2, 1):
            run = " ".join(words[start : start + size])
            lemma = lexicon.lemma(run) if len(words) - start >= size else None
            if lemma is None or lemma in said or lemma.lower() in _COMMON_DEFINING:
                continue
            senses = lexicon.senses(run)
            limit = MAX_CLOSING_SENSES if start == closing else 2
            # between an article and a function word it is a noun ("the honey it produces"), however often it
            # is a verb; before another noun it is a modifier ("an ancient ritual")
            after = words[start + size].lower() if start + size < len(words) else ""
            as_noun = start > 0 and words[start - 1].lower() in ("a", "an", "the") and (not after or after in _FUNCTION)
            if size == 1 and (len(run) < 4 or senses > limit or (lexicon.other_senses(run) >= senses and not as_noun)
                              or _gerund(run, lexicon)):
                continue
            # "the Bourbons" of France are its royal line; a noun inside the definition needs its context to say
            # which sense it is, but the one that closes the definition's first clause is its first sense at worst
            entry = lexicon.sense(run, context | context_words(gloss),
                                  ambiguous_from=MAX_CLOSING_SENSES + 1 if start == closing else 2)
            # what is spoken is the first clause: "lava: rock that ... issues from volcanos; lava is also ..." is fine
            defined_by = entry.gloss.split(";")[0].split() if entry is not None else []
            circular = any(w.lower().startswith(lemma[:6]) for w in defined_by)
            if entry is not None and entry.gloss and not circular:  # not "communication: ... communicating"
                found.append((lemma, entry))
                start += size - 1
                break
        start += 1
    return found


def _opening(subject: PromptSubject, language: str, what: str | None, rng: random.Random) -> Line:
    options = [o for o in prompts.OPENINGS.get(language, ("{Topic}.",)) if what or "{what}" not in o]
    chosen = rng.choice(options)
    topic = subject.topic
    text = chosen.format(topic=topic, Topic=_capitalize(topic), what=what or "")
    return Line(text, subject.phrases[0] if subject.phrases else None, "opening")


def _closing(subject: PromptSubject, language: str, rng: random.Random) -> Line | None:
    """A closing that names the subject, when the subject reads as a noun phrase ("black holes", not
    "How bicycle gears work")."""
    options = prompts.CLOSINGS.get(language)
    first = subject.topic.split(" ", 1)[0]
    if not options or not subject.from_prompt or first.lower() in _QUESTION_WORDS:
        return None
    second = subject.topic.split(" ")[1:2]
    topic = subject.topic if second and second[0][:1].isupper() else subject.topic[:1].lower() + subject.topic[1:]
    return Line(rng.choice(options).format(topic=topic), subject.phrases[0], "closing")


def _question(subject: PromptSubject, prompt: str, lexicon: WordNet | None, vocab: _Vocabulary) -> str | None:
    if lexicon is None or not subject.from_prompt:
        return None
    candidates = _fact_candidates(subject, prompt, lexicon, vocab)
    if not candidates:
        return None
    run, _ = candidates[0]
    entry = _prompt_sense(lexicon, run, prompt)
    if entry is None:
        return None
    if entry.lifetime:
        return f"Who was {entry.name}?"
    return f"What is {subject_name(entry, naming_in_prompt(prompt, run))}?"


def narration_lines(
    request: VideoRequest, subject: PromptSubject, lexicon: WordNet | None, rng: random.Random
) -> list[Line]:
    """Every line the video could say, in the order it would say them, before timing picks the ones that fit.

    A long prompt is narrated as written, in order. A short one gets an opening that names the subject,
    what the lexicon knows about its nouns, and a closing; never lines that only repeat the prompt.
    """
    language = request.language.value
    vocab = _Vocabulary.for_language(language)
    own = prompt_sentences(request.prompt, language)
    english = language == "en"
    facts = lexicon_facts(subject, request.prompt, lexicon if english else None, vocab, limit=12)
    if subject.from_prompt and own and (len(own) >= 2 or count_words(own[0]) >= LONG_PROMPT_WORDS):
        lines = [Line(s, _focus_of(s, subject.phrases), "prompt") for s in own]
        return _once(lines + facts)
    question = _question(subject, request.prompt, lexicon if english else None, vocab)
    opening = _opening(subject, language, question, rng)
    closing = _closing(subject, language, rng)
    return _once([opening, *facts, *([closing] if closing else [])])


def _once(lines: Sequence[Line]) -> list[Line]:
    """Each sentence once, where it first comes."""
    seen: set[str] = set()
    out: list[Line] = []
    for line in lines:
        if line.text not in seen:
            seen.add(line.text)
            out.append(line)
    return out


# --- timing: which lines fit, and how long each scene lasts -----------------------------------------------


def _speech_s(line: Line) -> float:
    return line.words / TARGET_WORDS_PER_SECOND


def _scene_floor_s(lines: Sequence[Line]) -> float:
    """The shortest scene that speaks these lines within the writer's pace."""
    words = sum(line.words for line in lines)
    return words / TARGET_WORDS_PER_SECOND + VOICE_LEAD_S + DIALOGUE_TAIL_S if words else MIN_SILENT_SCENE_S


def select_lines(lines: Sequence[Line], total_s: float) -> list[Line]:
    """The lines that fit in total_s, in order, picked by priority: the prompt's own sentences, the first
    fact, the opening, further facts, then the closing; a line that does not fit is skipped, not cut."""
    rank = {"prompt": 0, "opening": 1, "fact": 2, "related": 3, "closing": 4}
    first_fact = next((i for i, line in enumerate(lines) if line.kind == "fact"), None)
    order = sorted(range(len(lines)), key=lambda i: (0 if i == first_fact else rank[lines[i].kind], i))
    budget = total_s * SPEECH_SHARE
    chosen: set[int] = set()
    used = 0.0
    for index in order:
        cost = _speech_s(lines[index]) + VOICE_LEAD_S + DIALOGUE_TAIL_S
        if used + cost <= budget:
            chosen.add(index)
            used += cost
    return [lines[i] for i in sorted(chosen)]


def _group(lines: Sequence[Line], count: int) -> list[list[Line]]:
    """Contiguous groups of lines, one per scene, balanced by speaking time."""
    if not lines:
        return []
    count = min(count, len(lines))
    total = sum(_speech_s(line) for line in lines)
    groups: list[list[Line]] = [[]]
    done = 0.0
    for index, line in enumerate(lines):
        left_lines, left_groups = len(lines) - index, count - len(groups)
        target = total * len(groups) / count
        if groups[-1] and left_groups > 0 and (done + _speech_s(line) / 2 > target or left_lines <= left_groups):
            groups.append([])
        groups[-1].append(line)
        done += _speech_s(line)
    return groups


def plan_scenes(lines: Sequence[Line], total_s: float, rng: random.Random) -> list[tuple[float, list[Line]]]:
    """Scenes as (duration, lines): about one per 6.5 s, sized to what they say, summing exactly to total_s.

    Lines are grouped so that each scene speaks; when there are fewer lines than scenes the extra scenes
    are silent (music and pictures), spread between the spoken ones.
    """
    count = 1 if total_s < 10 else max(2, round(total_s / SECONDS_PER_SCENE))
    groups = _group(lines, count)
    if groups and len(groups) < count:  # silent scenes spread between the spoken ones; the first one speaks
        spoken_at = {round(i * count / len(groups)): g for i, g in enumerate(groups)}
        groups = [spoken_at.get(i, []) for i in range(count)]
    units = round(total_s * 10)
    floors = [math.ceil(_scene_floor_s(g) * 10) for g in groups]
    while sum(floors) > units and [] in groups[1:]:  # a spoken line outranks a silent scene
        at = len(groups) - 1 - groups[::-1].index([])
        del groups[at], floors[at]
    slack = units - sum(floors)
    if slack < 0:  # cannot happen with select_lines' budget; keep the sum exact regardless
        floors = [max(10, f + slack * f // sum(floors)) for f in floors]
        slack = units - sum(floors)
    weights = [rng.uniform(0.85, 1.15) for _ in groups]
    extra = [int(slack * w / sum(weights)) for w in weights]
    extra[-1] += slack - sum(extra)
    return [((f + e) / 10, g) for f, e, g in zip(floors, extra, groups, strict=True)]


# --- the scenario -----------------------------------------------------------------------------------------


def _role(index: int, count: int) -> str:
    if index == 0:
        return "intro"
    return "outro" if index == count - 1 else "body"


def _pick_different(options: Sequence[T], previous: T | None, rng: random.Random) -> T:
    choices = [o for o in options if o != previous] or list(options)
    return rng.choice(choices)


def _elements(lines: Sequence[Line], subject: PromptSubject, vocab: _Vocabulary, index: int) -> list[str]:
    """What a scene shows: the phrases its lines are about, then the subject's other phrases in turn."""
    spoken = " ".join(line.text for line in lines).lower()
    named = [line.focus for line in lines if line.focus]
    named += [p for p in subject.phrases if _without_article(p, vocab).lower() in spoken]
    rotation = subject.phrases[index % len(subject.phrases) :] + subject.phrases[: index % len(subject.phrases)]
    elements = [_without_article(p, vocab) for p in dict.fromkeys([*named, *rotation])]
    elements += [k for k in subject.keywords if all(k not in e.lower() for e in elements)][:2]
    return [e for e in dict.fromkeys(elements) if e.strip()][:4] or [subject.topic]


def write_template_scenario(request: VideoRequest, *, video_id: str, lexicon: WordNet | None = None) -> Scenario:
    """A deterministic scenario whose narration is the prompt's own content and, in English, what the
    lexicon knows about the prompt's nouns; scenes are timed to what they say."""
    rng = random.Random(request.seed(video_id, "script-template"))
    language = request.language.value
    vocab = _Vocabulary.for_language(language)
    subject = read_prompt(request.prompt, language)
    lines = select_lines(narration_lines(request, subject, lexicon, rng), request.duration_seconds)
    if not lines:  # not even the opening fits: name the subject, cut to the scene
        budget = _word_budget(request.duration_seconds)
        lines = [Line(_truncate(_capitalize(subject.topic), max(1, budget)), None, "opening")]
    planned = plan_scenes(lines, request.duration_seconds, rng)
    moods = prompts.MOODS[request.music_style.value]
    lighting_pool = prompts.LIGHTING[subject.theme]
    scenes: list[Scene] = []
    angle: CameraAngle | None = None
    lighting: str | None = None
    for index, (duration, group) in enumerate(planned):
        role = _role(index, len(planned))
        elements = _elements(group, subject, vocab, index)
        angle = _pick_different(_BODY_ANGLES if role == "body" else _OPENING_ANGLES, angle, rng)
        lighting = _pick_different(lighting_pool, lighting, rng)
        a, b = elements[0], elements[1] if len(elements) > 1 else None
        templates = [t for t in prompts.DESCRIPTIONS[role] if "{b}" not in t or b is not None]
        description = _capitalize(
            rng.choice(templates).format(
                angle=angle.value, lighting=lighting, mood=rng.choice(moods), topic=subject.topic, a=a, b=b
            )
        )
        scenes.append(
            Scene(
                scene_number=index + 1,
                duration_seconds=duration,
                description=description,
                visual_elements=elements,
                dialogue=" ".join(line.text for line in group),
                camera_angle=angle,
                lighting=lighting,
            )
        )
    title_source = subject.topic if subject.from_prompt else request.prompt
    return Scenario(title=_capitalize(_clip(title_source, TITLE_MAX_CHARS)), scenes=scenes)


def _word_budget(duration_s: float) -> int:
    return max(0, int(TARGET_WORDS_PER_SECOND * (duration_s - VOICE_LEAD_S - DIALOGUE_TAIL_S)))


def _truncate(sentence: str, words: int) -> str:
    return " ".join(sentence.split()[:words]).rstrip(",:;.!?") + "."
