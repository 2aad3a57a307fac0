"""Subtitle cues, caption files and burned-in caption patches."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from PIL import ImageFont

from nexus_core.media.subtitles import (
    GAP_S,
    Cue,
    SubtitleRenderer,
    cue_at,
    cues_for_dialogue,
    cues_from_words,
    find_font,
    to_srt,
    to_vtt,
    wrap_lines,
)
from nexus_core.models import WordTiming

DIALOGUE = (
    "Black holes form when massive stars collapse under their own gravity. Nothing escapes them, not even "
    "light. Their edge is called the event horizon; beyond it, space and time trade places. Astronomers "
    "photographed the shadow of one in 2019, a ring of glowing gas around a dark centre."
)


def _words(cues: list[Cue]) -> list[str]:
    return [w for c in cues for line in c.lines for w in line.split()]


def test_wrap_lines_respects_the_limit_and_cuts_overlong_words() -> None:
    lines = wrap_lines("a " * 30 + "x" * 100, max_chars=42)
    assert all(len(line) <= 42 for line in lines)
    assert "".join(lines).replace(" ", "") == "a" * 30 + "x" * 100
    assert wrap_lines("") == []
    assert wrap_lines("  short   text ") == ["short text"]


def test_dialogue_cues_fit_two_lines_of_42_and_keep_every_word_in_order() -> None:
    cues = cues_for_dialogue(DIALOGUE, start_s=0.35, duration_s=20.0)
    assert len(cues) >= 3
    for cue in cues:
        assert 1 <= len(cue.lines) <= 2
        assert all(0 < len(line) <= 42 for line in cue.lines)
    assert _words(cues) == DIALOGUE.split()


def test_dialogue_cues_span_the_voice_without_overlaps() -> None:
    cues = cues_for_dialogue(DIALOGUE, start_s=0.35, duration_s=20.0)
    assert cues[0].start_s == pytest.approx(0.35)
    assert cues[-1].end_s == pytest.approx(20.35)
    for before, after in itertools.pairwise(cues):
        assert before.start_s < before.end_s <= after.start_s
        assert after.start_s - before.end_s <= GAP_S + 1e-3


def test_dialogue_cue_durations_follow_their_characters() -> None:
    cues = cues_for_dialogue(DIALOGUE, start_s=0.0, duration_s=30.0)
    per_char = [(c.end_s - c.start_s) / len(c.text) for c in cues[:-1]]
    assert max(per_char) / min(per_char) < 1.2


def test_dialogue_breaks_at_sentences_when_it_can() -> None:
    text = "It begins here. Then a long sentence that keeps going and going well past one cue, really."
    cues = cues_for_dialogue(text, start_s=0.0, duration_s=8.0)
    assert cues[0].text == "It begins here."


def test_short_dialogue_is_one_single_line_cue() -> None:
    (cue,) = cues_for_dialogue("Hello, world.", start_s=1.0, duration_s=2.0)
    assert cue == Cue(1.0, 3.0, ("Hello, world.",))


def test_two_line_cues_are_balanced() -> None:
    (cue,) = cues_for_dialogue("The quick brown fox jumps over the lazy dog and runs far away", start_s=0,
                               duration_s=3)
    assert len(cue.lines) == 2
    assert abs(len(cue.lines[0]) - len(cue.lines[1])) <= 10


@pytest.mark.parametrize("text", ["", "   "])
def test_no_dialogue_no_cues(text: str) -> None:
    assert cues_for_dialogue(text, start_s=0.0, duration_s=5.0) == []


def _timings(text: str, *, word_s: float = 0.3, pause_after: int | None = None) -> list[WordTiming]:
    out, t = [], 0.0
    for index, word in enumerate(text.split()):
        out.append(WordTiming(word=word, start_s=t, end_s=t + word_s * 0.8))
        t += word_s + (1.5 if index == pause_after else 0.0)
    return out


def test_word_timed_cues_follow_the_words() -> None:
    words = _timings(DIALOGUE)
    cues = cues_from_words(words, offset_s=0.35)
    assert _words(cues) == DIALOGUE.split()
    assert cues[0].start_s == pytest.approx(0.35)
    assert cues[-1].end_s >= words[-1].end_s + 0.35
    for cue in cues:
        assert len(cue.lines) <= 2 and all(len(line) <= 42 for line in cue.lines)
    for before, after in itertools.pairwise(cues):
        assert before.start_s < before.end_s <= after.start_s
    starts = {round(w.start_s + 0.35, 3) for w in words}
    assert all(c.start_s in starts for c in cues)


def test_a_long_pause_starts_a_new_cue() -> None:
    cues = cues_from_words(_timings("one two three four five six", pause_after=2), offset_s=0.0)
    assert [c.text for c in cues] == ["one two three", "four five six"]


def test_srt_format() -> None:
    cues = [Cue(0.35, 2.5, ("Hello,", "world.")), Cue(3661.0, 3662.0456, ("Bye.",))]
    assert to_srt(cues) == (
        "1\n00:00:00,350 --> 00:00:02,500\nHello,\nworld.\n\n"
        "2\n01:01:01,000 --> 01:01:02,046\nBye.\n"
    )


def test_vtt_format_has_header_dots_and_escapes() -> None:
    vtt = to_vtt([Cue(0.35, 2.5, ("Fish & <chips>",))])
    assert vtt == "WEBVTT\n\n00:00:00.350 --> 00:00:02.500\nFish &amp; &lt;chips&gt;\n"
    assert to_vtt([]).startswith("WEBVTT")


def test_cue_at_uses_half_open_intervals() -> None:
    cues = [Cue(1.0, 2.0, ("a",)), Cue(2.0, 3.0, ("b",))]
    assert cue_at(cues, 0.5) is None
    assert cue_at(cues, 1.0) is cues[0]
    assert cue_at(cues, 2.0) is cues[1]
    assert cue_at(cues, 3.0) is None


# --- burned-in captions ---


def test_dejavu_bold_is_found() -> None:
    font = find_font()
    assert font is not None and font.endswith("DejaVuSans-Bold.ttf")


@pytest.mark.parametrize("size", [(1920, 1080), (640, 360), (1080, 1920), (720, 720)])
def test_patch_is_bottom_centred_inside_the_safe_area(size: tuple[int, int]) -> None:
    width, height = size
    renderer = SubtitleRenderer(width, height)
    patch = renderer.patch(("A caption line that is quite long, 42 chars", "and a second one"))
    assert patch.x >= 0 and patch.x + patch.width <= width
    assert abs((patch.x + patch.width / 2) - width / 2) <= 2
    assert patch.y + patch.height <= height - 0.05 * height
    assert patch.y > height / 2
    assert patch.x % 2 == patch.y % 2 == patch.width % 2 == patch.height % 2 == 0
    assert renderer.patch(("A caption line that is quite long, 42 chars", "and a second one")) is patch


def test_patch_has_white_text_a_dark_outline_and_a_translucent_box() -> None:
    patch = SubtitleRenderer(1280, 720).patch(("Readable on any background",))
    rgb, alpha = patch.rgba[..., :3], patch.rgba[..., 3]
    white = (rgb.min(axis=2) > 240) & (alpha == 255)
    outline = (rgb.max(axis=2) < 20) & (alpha == 255)
    box = (alpha > 100) & (alpha < 255)
    assert white.mean() > 0.05 and outline.mean() > 0.02 and box.mean() > 0.3


def test_blend_touches_only_the_patch_box_and_shows_on_light_and_dark_frames() -> None:
    renderer = SubtitleRenderer(640, 360)
    cue = Cue(0, 1, ("Hello there",))
    patch = renderer.patch(cue)
    for level in (0, 128, 255):
        frame = np.full((360, 640, 3), level, np.uint8)
        renderer.blend(frame, cue)
        changed = np.any(frame != level, axis=2)
        ys, xs = np.nonzero(changed)
        assert ys.min() >= patch.y and ys.max() < patch.y + patch.height
        assert xs.min() >= patch.x and xs.max() < patch.x + patch.width
        box = frame[patch.y : patch.y + patch.height, patch.x : patch.x + patch.width]
        assert (box.min(axis=2) > 240).mean() > 0.03  # white text
        assert (box.max(axis=2) < 40).mean() > 0.03  # dark outline


def _glyph_patch(renderer: SubtitleRenderer, text: str) -> np.ndarray:
    return renderer.patch((text,)).rgba


@pytest.mark.parametrize("letters", ["éàçñøüß", "ΑΒΓΔΩαβγδωλ", "ЖЩЯжщяБбЪъ"])
def test_latin_greek_and_cyrillic_render_as_real_glyphs(letters: str) -> None:
    renderer = SubtitleRenderer(1280, 720)
    font = ImageFont.truetype(renderer.font_path, 64)
    notdef = font.getmask("\ue000").getbbox(), bytes(font.getmask("\ue000"))
    seen = []
    for letter in letters:
        mask = font.getmask(letter)
        assert (mask.getbbox(), bytes(mask)) != notdef, f"{letter!r} renders as the .notdef box"
        patch = _glyph_patch(renderer, letter)
        assert not any(np.array_equal(patch, other) for other in seen), f"{letter!r} matches another letter"
        seen.append(patch)
    tofu = _glyph_patch(renderer, "\ue000")
    assert not any(np.array_equal(p, tofu) for p in seen if p.shape == tofu.shape)


def test_an_overlong_line_is_shrunk_to_fit_the_frame() -> None:
    renderer = SubtitleRenderer(360, 640)
    patch = renderer.patch(("W" * 42,))
    assert patch.x >= 0 and patch.x + patch.width <= 360
