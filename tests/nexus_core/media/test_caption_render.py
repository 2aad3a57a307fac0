"""Captions on the spoken word: one cue per measured phrase, and karaoke's highlighted word."""

from __future__ import annotations

import numpy as np

from nexus_core.media.caption_render import HIGHLIGHT_RGB, SubtitleRenderer
from nexus_core.media.subtitles import cues_from_phrases, highlighted_word
from nexus_core.models import Language, SpokenPhrase, WordTiming

LINE = "A honeybee is a social bee."
PHRASES = [
    SpokenPhrase(text=LINE, start_s=0.02, end_s=1.9, words=[
        WordTiming(word=w, start_s=0.02 + 0.3 * i, end_s=0.3 + 0.3 * i) for i, w in enumerate(LINE.split())
    ]),
    SpokenPhrase(text="It makes honey.", start_s=2.3, end_s=3.1, words=[]),
]


def test_each_phrase_is_one_cue_starting_on_its_onset() -> None:
    cues = cues_from_phrases(PHRASES, offset_s=0.35, language=Language.EN)
    assert [c.start_s for c in cues] == [0.37, 2.65]
    assert cues[0].end_s < cues[1].start_s
    assert cues[0].words[0] == 0.37 and len(cues[0].words) == 6
    assert cues[1].words == ()  # no word timings: no karaoke for this one


def test_the_spoken_word_is_the_last_one_started() -> None:
    cue = cues_from_phrases(PHRASES, offset_s=0.0)[0]
    assert highlighted_word(cue, 0.0) == 0
    assert highlighted_word(cue, 0.95) == 3
    assert highlighted_word(cue, 9.0) == 5


def _yellow(rgba: np.ndarray) -> int:
    return int(_yellow_mask(rgba).sum())


def test_karaoke_colours_only_the_spoken_word() -> None:
    renderer = SubtitleRenderer(1280, 720, language=Language.EN)
    lines = ("A honeybee is a social bee.",)
    plain, first, long_word = renderer.patch(lines), renderer.patch(lines, 0), renderer.patch(lines, 1)
    assert _yellow(plain.rgba) == 0
    assert 0 < _yellow(first.rgba) < _yellow(long_word.rgba)  # "A" is smaller than "honeybee"
    columns = np.flatnonzero(_yellow_mask(long_word.rgba).any(axis=0))
    assert columns.min() > long_word.width * 0.1 and columns.max() < long_word.width * 0.6


def _yellow_mask(rgba: np.ndarray) -> np.ndarray:
    """Pixels of the karaoke colour (HIGHLIGHT_RGB), opaque."""
    r, g, b = (rgba[..., i].astype(int) for i in range(3))
    target = HIGHLIGHT_RGB
    close = (abs(r - target[0]) < 30) & (abs(g - target[1]) < 40) & (abs(b - target[2]) < 60)
    return close & (rgba[..., 3] > 200)
