"""Synthesized music beds: seeded, per style, click-free and streamed to a 16-bit stereo WAV in chunks."""

from __future__ import annotations

import math
import os
import random
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nexus_core.models import MusicStyle

PEAK_DBFS = -6.0
CHUNK_S = 2.0
TABLE_SIZE = 8192  # one waveform period; a power of two so phase wraps with a bit mask
FADE_IN_S = 2.0
FADE_OUT_S = 3.0


def _table(harmonics: dict[int, float]) -> np.ndarray:
    """One period of a waveform made of the given harmonics (number -> amplitude), peak-normalized."""
    phase = np.arange(TABLE_SIZE) / TABLE_SIZE * 2 * np.pi
    wave_ = sum(amp * np.sin(k * phase) for k, amp in harmonics.items())
    return (wave_ / np.abs(wave_).max()).astype(np.float32)


@dataclass(frozen=True)
class Timbre:
    """An instrument: waveform, detuned copies (cents), and envelope times in seconds."""

    table: np.ndarray
    attack: float
    release: float
    decay: float | None = None  # exponential decay time constant while held, None to sustain
    detune: tuple[float, ...] = (0.0,)


SOFT_PAD = Timbre(_table({1: 1.0, 2: 0.45, 3: 0.2, 4: 0.1}), attack=2.2, release=2.8, detune=(-6.0, 0.0, 6.0))
STRINGS = Timbre(_table({k: 1 / k**1.3 for k in range(1, 9)}), attack=2.5, release=3.0, detune=(-8.0, 0.0, 7.0))
SUB_BASS = Timbre(_table({1: 1.0, 2: 0.25}), attack=1.0, release=2.0)
BELL = Timbre(_table({1: 1.0, 2: 0.3, 4: 0.12}), attack=0.02, release=1.2, decay=1.8)
STAB = Timbre(_table({k: 1 / k for k in range(1, 9)}), attack=0.006, release=0.07, decay=0.25, detune=(-4.0, 4.0))
PLUCK_BASS = Timbre(_table({1: 1.0, 2: 0.5, 3: 0.15}), attack=0.006, release=0.05, decay=0.3)
WARM_PAD = Timbre(_table({1: 1.0, 2: 0.3, 3: 0.1}), attack=0.6, release=1.0, detune=(-5.0, 5.0))


@dataclass(frozen=True)
class Note:
    """A pitched note: held for `length` seconds after `start`, then released."""

    start: float
    length: float
    freq: float
    gain: float
    pan: float
    timbre: Timbre

    @property
    def end(self) -> float:
        return self.start + self.length + self.timbre.release


@dataclass(frozen=True)
class Hit:
    """A one-shot sound (kick, hat, timpani) whose samples already start and end at zero."""

    start: float
    sample: np.ndarray
    gain: float
    pan: float


def _raised_cosine(x: np.ndarray) -> np.ndarray:
    """0 -> 1 over x in [0, 1] with zero slope at both ends."""
    return 0.5 - 0.5 * np.cos(np.pi * np.clip(x, 0.0, 1.0))


def _envelope(t: np.ndarray, note: Note) -> np.ndarray:
    """Attack, optional decay and release of a note at times t (ascending, seconds from its start)."""
    tb = note.timbre
    env = np.ones(len(t), dtype=np.float64)
    attack_end = int(np.searchsorted(t, tb.attack))
    env[:attack_end] = _raised_cosine(t[:attack_end] / tb.attack)
    if tb.decay:
        env *= np.exp(-np.maximum(t - tb.attack, 0.0) / tb.decay)
    release_start = int(np.searchsorted(t, note.length))
    env[release_start:] *= 1.0 - _raised_cosine((t[release_start:] - note.length) / tb.release)
    return env


def _midi_hz(midi: float) -> float:
    return 440.0 * 2 ** ((midi - 69) / 12)


def _pan_gains(pan: float) -> tuple[float, float]:
    angle = (pan + 1) * math.pi / 4
    return math.cos(angle), math.sin(angle)


# ---------------------------------------------------------------- one-shot samples (kick, hat, timpani)


def _fade_edges(x: np.ndarray, sr: int, attack_s: float, release_s: float) -> np.ndarray:
    n = len(x)
    idx = np.arange(n)
    x *= _raised_cosine(idx / max(1, attack_s * sr))
    x *= _raised_cosine((n - 1 - idx) / max(1, release_s * sr))
    return x


def _kick(sr: int) -> np.ndarray:
    t = np.arange(int(0.4 * sr)) / sr
    freq = 45 + 85 * np.exp(-t / 0.035)
    phase = 2 * np.pi * np.cumsum(freq) / sr
    return _fade_edges(np.sin(phase) * np.exp(-t / 0.16), sr, 0.002, 0.03).astype(np.float32)


def _hat(sr: int, rng: np.random.Generator) -> np.ndarray:
    n = int(0.09 * sr)
    noise = rng.standard_normal(n + 2)
    bright = noise[2:] - 2 * noise[1:-1] + noise[:-2]  # second difference: a high-pass tilt
    bright = (bright[1:] + bright[:-1]) * 0.5  # one tap of smoothing tames the very top
    t = np.arange(len(bright)) / sr
    return _fade_edges(bright / 4 * np.exp(-t / 0.022), sr, 0.001, 0.02).astype(np.float32)


def _timpani(sr: int, freq: float, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(2.2 * sr)) / sr
    bend = freq * (1 + 0.06 * np.exp(-t / 0.06))
    body = np.sin(2 * np.pi * np.cumsum(bend) / sr) + 0.35 * np.sin(2 * np.pi * np.cumsum(bend * 1.5) / sr)
    thump = np.convolve(rng.standard_normal(len(t)), np.ones(24) / 24, mode="same") * np.exp(-t / 0.03)
    return _fade_edges((body * np.exp(-t / 0.55) + thump * 0.6) * 0.7, sr, 0.003, 0.2).astype(np.float32)


# ---------------------------------------------------------------- arrangements per style

MAJOR = {
    "I": (0, 4, 7, 11),
    "ii": (2, 5, 9, 12),
    "iii": (4, 7, 11, 14),
    "IV": (5, 9, 12, 16),
    "V": (7, 11, 14, 17),
    "vi": (9, 12, 16, 19),
}
MINOR = {
    "i": (0, 3, 7, 10),
    "iv": (5, 8, 12, 15),
    "v": (7, 10, 14, 17),
    "VI": (8, 12, 15, 19),
    "III": (3, 7, 10, 14),
    "VII": (10, 14, 17, 20),
}
PROGRESSIONS: dict[MusicStyle, tuple[tuple[str, ...], ...]] = {
    MusicStyle.AMBIENT: (
        ("I", "vi", "IV", "V"),
        ("I", "IV", "vi", "V"),
        ("vi", "IV", "I", "V"),
        ("I", "iii", "IV", "IV"),
    ),
    MusicStyle.UPBEAT: (("I", "V", "vi", "IV"), ("vi", "IV", "I", "V"), ("I", "IV", "V", "IV"), ("ii", "V", "I", "vi")),
    MusicStyle.CINEMATIC: (
        ("i", "VI", "III", "VII"),
        ("i", "iv", "VI", "v"),
        ("i", "VII", "VI", "VII"),
        ("i", "VI", "iv", "v"),
    ),
}


@dataclass
class Arrangement:
    """Everything a bed plays, planned up front (a few thousand events even for 600 s)."""

    notes: list[Note]
    hits: list[Hit]


def _chords(style: MusicStyle, rng: random.Random, count: int) -> Iterator[tuple[int, tuple[int, ...]]]:
    table = MINOR if style is MusicStyle.CINEMATIC else MAJOR
    progression = rng.choice(PROGRESSIONS[style])
    for i in range(count):
        yield i, table[progression[i % len(progression)]]


def _ambient(duration: float, rng: random.Random, sr: int) -> Arrangement:
    root = rng.randint(50, 57)
    chord_s = rng.uniform(6.5, 9.0)
    notes: list[Note] = []
    for i, chord in _chords(MusicStyle.AMBIENT, rng, math.ceil(duration / chord_s) + 1):
        start = i * chord_s - 0.5
        for j, interval in enumerate(chord):
            notes.append(Note(start, chord_s, _midi_hz(root + interval), 0.16, -0.5 + j / 3, SOFT_PAD))
        notes.append(Note(start, chord_s, _midi_hz(root - 12 + chord[0]), 0.22, 0.0, SUB_BASS))
        for _ in range(rng.randint(1, 3)):
            when = start + rng.uniform(1.0, chord_s - 1.0)
            pitch = root + 12 + rng.choice(chord) + rng.choice((0, 12))
            notes.append(Note(when, 0.8, _midi_hz(pitch), 0.07, rng.uniform(-0.7, 0.7), BELL))
    return Arrangement(notes, [])


def _upbeat(duration: float, rng: random.Random, sr: int) -> Arrangement:
    root = rng.randint(52, 59)
    beat = 60.0 / rng.randint(110, 124)
    bar = 4 * beat
    np_rng = np.random.default_rng(rng.getrandbits(32))
    kick, hat = _kick(sr), _hat(sr, np_rng)
    stab_steps = rng.choice(((1.5, 3.5), (0.5, 1.5, 2.5, 3.5), (1.0, 2.5, 3.5), (0.5, 2.0, 3.0)))
    notes: list[Note] = []
    hits: list[Hit] = []
    for i, chord in _chords(MusicStyle.UPBEAT, rng, math.ceil(duration / bar) + 1):
        start = i * bar
        for b in range(4):
            hits.append(Hit(start + b * beat, kick, 0.55, 0.0))
            hits.append(Hit(start + (b + 0.5) * beat, hat, 0.14, 0.25))
        for step in stab_steps:
            for j, interval in enumerate(chord[:3]):
                notes.append(Note(start + step * beat, 0.16, _midi_hz(root + interval), 0.09, -0.3 + 0.3 * j, STAB))
        for eighth in range(8):
            octave = 12 if eighth % 4 == 3 else 0
            notes.append(
                Note(start + eighth * beat / 2, 0.18, _midi_hz(root - 24 + chord[0] + octave), 0.22, 0.0, PLUCK_BASS)
            )
        for j, interval in enumerate(chord):
            notes.append(Note(start, bar, _midi_hz(root + interval), 0.04, -0.6 + 0.4 * j, WARM_PAD))
    return Arrangement(notes, hits)


def _cinematic(duration: float, rng: random.Random, sr: int) -> Arrangement:
    root = rng.randint(45, 52)
    chord_s = rng.uniform(8.0, 11.0)
    np_rng = np.random.default_rng(rng.getrandbits(32))
    timpani = _timpani(sr, _midi_hz(root - 12), np_rng)
    notes: list[Note] = []
    hits: list[Hit] = []
    for i, chord in _chords(MusicStyle.CINEMATIC, rng, math.ceil(duration / chord_s) + 1):
        start = i * chord_s - 0.5
        for j, interval in enumerate(chord[:3]):
            notes.append(Note(start, chord_s, _midi_hz(root - 12 + interval), 0.2, -0.4 + 0.4 * j, STRINGS))
        notes.append(Note(start, chord_s, _midi_hz(root - 24 + chord[0]), 0.2, 0.0, SUB_BASS))
        if i % 2 == 1:  # a swell rising into the next chord
            swell = Timbre(STRINGS.table, attack=chord_s * 0.8, release=1.6, detune=STRINGS.detune)
            for j, interval in enumerate(chord[1:]):
                notes.append(
                    Note(start + 0.5, chord_s * 0.8, _midi_hz(root + 12 + interval), 0.08, 0.6 - 0.6 * j, swell)
                )
        if i % 2 == 0 and i > 0:
            hits.append(Hit(start + 0.5, timpani, 0.5, 0.0))
            if rng.random() < 0.5:
                hits.append(Hit(start + 0.5 + chord_s / 4, timpani, 0.3, 0.0))
    return Arrangement(notes, hits)


_ARRANGERS = {MusicStyle.AMBIENT: _ambient, MusicStyle.UPBEAT: _upbeat, MusicStyle.CINEMATIC: _cinematic}


def arrange(style: MusicStyle, *, duration_s: float, seed: int, sample_rate: int) -> Arrangement:
    """The notes and hits of a bed; raises ValueError for MusicStyle.NONE."""
    if style not in _ARRANGERS:
        raise ValueError(f"no music bed for style {style.value!r}: callers skip MusicStyle.NONE")
    return _ARRANGERS[style](duration_s, random.Random(seed), sample_rate)


# ---------------------------------------------------------------- rendering


def _render_note(out: np.ndarray, note: Note, first: int, sr: int) -> None:
    """Add a note's samples that fall in out (which starts at sample `first`); phase runs from note start."""
    lo = max(first, math.ceil(note.start * sr))
    hi = min(first + len(out), math.ceil(note.end * sr))
    if hi <= lo:
        return
    t = np.arange(lo, hi, dtype=np.float64) / sr - note.start
    acc = np.zeros(hi - lo, dtype=np.float32)
    for cents in note.timbre.detune:
        cycles = t * (note.freq * 2 ** (cents / 1200) * TABLE_SIZE)
        acc += note.timbre.table[cycles.astype(np.int64) & (TABLE_SIZE - 1)]
    acc *= (_envelope(t, note) * (note.gain / len(note.timbre.detune))).astype(np.float32)
    left, right = _pan_gains(note.pan)
    out[lo - first : hi - first, 0] += acc * left
    out[lo - first : hi - first, 1] += acc * right


def _render_hit(out: np.ndarray, hit: Hit, first: int, sr: int) -> None:
    start = round(hit.start * sr)
    lo, hi = max(first, start), min(first + len(out), start + len(hit.sample))
    if hi <= lo:
        return
    part = hit.sample[lo - start : hi - start] * hit.gain
    left, right = _pan_gains(hit.pan)
    out[lo - first : hi - first, 0] += part * left
    out[lo - first : hi - first, 1] += part * right


def _fades(first: int, count: int, total: int, sr: int) -> np.ndarray:
    n = np.arange(first, first + count, dtype=np.float64)
    fade_in = min(FADE_IN_S * sr, total / 4)
    fade_out = min(FADE_OUT_S * sr, total / 3)
    return (_raised_cosine(n / fade_in) * _raised_cosine((total - 1 - n) / fade_out)).astype(np.float32)


def render_chunks(arrangement: Arrangement, *, total: int, sample_rate: int) -> Iterator[np.ndarray]:
    """Float32 (n, 2) chunks of the bed, faded in and out, CHUNK_S at a time."""
    chunk = int(CHUNK_S * sample_rate)
    waiting: list[Note | Hit] = sorted([*arrangement.notes, *arrangement.hits], key=lambda e: e.start, reverse=True)
    sounding: list[Note | Hit] = []
    for first in range(0, total, chunk):
        count = min(chunk, total - first)
        out = np.zeros((count, 2), dtype=np.float32)
        t1 = (first + count) / sample_rate
        while waiting and waiting[-1].start < t1:
            sounding.append(waiting.pop())
        for event in sounding:
            if isinstance(event, Note):
                _render_note(out, event, first, sample_rate)
            else:
                _render_hit(out, event, first, sample_rate)
        sounding = [e for e in sounding if _end_s(e, sample_rate) > t1]
        out *= _fades(first, count, total, sample_rate)[:, None]
        yield out


def _end_s(event: Note | Hit, sample_rate: int) -> float:
    return event.end if isinstance(event, Note) else event.start + len(event.sample) / sample_rate


def write_music_bed(
    style: MusicStyle, *, duration_s: float, seed: int, out_path: Path, sample_rate: int = 48000
) -> None:
    """Write a stereo 16-bit WAV of exactly duration_s, peaking at PEAK_DBFS; ValueError for NONE."""
    if duration_s <= 0:
        raise ValueError(f"duration must be positive, got {duration_s}")
    arrangement = arrange(style, duration_s=duration_s, seed=seed, sample_rate=sample_rate)
    total = round(duration_s * sample_rate)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    scratch = out_path.with_name(f".{out_path.name}.{os.getpid()}.f32")
    try:
        peak = 0.0
        with scratch.open("wb") as raw:  # first pass: render once, keep float samples on disk, find the peak
            for chunk in render_chunks(arrangement, total=total, sample_rate=sample_rate):
                peak = max(peak, float(np.abs(chunk).max(initial=0.0)))
                raw.write(chunk.tobytes())
        gain = 10 ** (PEAK_DBFS / 20) / peak if peak > 0 else 0.0
        frames = int(CHUNK_S * sample_rate)
        with scratch.open("rb") as raw, wave.open(str(out_path), "wb") as wav:
            wav.setnchannels(2)
            wav.setsampwidth(2)
            wav.setframerate(sample_rate)
            while block := raw.read(frames * 2 * 4):
                samples = np.frombuffer(block, dtype=np.float32) * gain
                wav.writeframes(np.round(samples * 32767).astype("<i2").tobytes())
    finally:
        scratch.unlink(missing_ok=True)
