"""Subtitle cues, caption files and burned-in caption patches."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from PIL import ImageFont

from nexus_core.media.caption_render import SubtitleRenderer, caption_layout
from nexus_core.media.fonts import FontFace, find_font, find_font_for
from nexus_core.media.subtitles import (
    GAP_S,
    MAX_CHARS,
    MAX_LINES,
    Cue,
    cue_at,
    cues_for_dialogue,
    cues_from_words,
    split_phrases,
    text_width,
    to_srt,
    to_vtt,
    wrap_lines,
)
from nexus_core.models import Language, WordTiming

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


# --- text without spaces (Chinese, Japanese) ---

ZH_DIALOGUE = (
    "蜜蜂通过跳舞来交流。它们用摇摆舞告诉同伴花在哪里，距离蜂巢有多远，方向与太阳成什么角度。"
    "科学家用iPhone拍摄了整个过程，发现舞蹈越长，花就越远！"
)
NO_LINE_START = "，。、！？；：」』）"


def test_text_width_counts_cjk_as_two_cells() -> None:
    assert text_width("abc") == 3
    assert text_width("蜜蜂。") == 6
    assert text_width("e\u0301") == 1  # a combining accent takes no cell


def test_cjk_wraps_by_width_and_keeps_punctuation_off_line_starts() -> None:
    lines = wrap_lines(ZH_DIALOGUE, max_chars=20)
    assert len(lines) > 5
    assert all(text_width(line) <= 20 for line in lines)
    assert "".join(lines) == ZH_DIALOGUE
    assert not any(line[0] in NO_LINE_START for line in lines)
    assert any("iPhone" in line for line in lines)  # a Latin word inside Chinese is not cut


def test_opening_brackets_stay_with_what_follows() -> None:
    lines = wrap_lines("它们跳的叫做「摇摆舞」，非常有名。" * 3, max_chars=14)
    assert not any(line.endswith(("「", "“")) for line in lines)
    assert not any(line[0] in NO_LINE_START for line in lines)


def test_cjk_phrases_break_at_sentence_ends_first() -> None:
    phrases = split_phrases("第一句话很短。第二句话稍微长一点，但是也不太长。", max_chars=24, max_lines=1)
    assert phrases[0] == "第一句话很短。"
    assert "".join(phrases) == "第一句话很短。第二句话稍微长一点，但是也不太长。"


@pytest.mark.parametrize(("width", "height"), [(1280, 720), (720, 1280), (360, 640)])
def test_cjk_cues_are_the_voice_phrases_and_fit_the_layout(width: int, height: int) -> None:
    layout = caption_layout(width, height, Language.ZH)
    fit = {"max_chars": layout.max_chars, "max_lines": layout.max_lines}
    cues = cues_for_dialogue(ZH_DIALOGUE, start_s=0.0, duration_s=20.0, language=Language.ZH, **fit)
    assert [c.text for c in cues] == split_phrases(ZH_DIALOGUE, **fit)
    assert "".join(c.text for c in cues) == ZH_DIALOGUE
    for cue in cues:
        assert cue.language is Language.ZH
        assert 1 <= len(cue.lines) <= layout.max_lines
        assert all(text_width(line) <= layout.max_chars and line[0] not in NO_LINE_START for line in cue.lines)


def test_word_timed_cjk_cues_join_without_spaces() -> None:
    text = "蜜蜂如何交流？它们跳舞。"
    words = [WordTiming(word=ch, start_s=i * 0.2, end_s=i * 0.2 + 0.15) for i, ch in enumerate(text)]
    cues = cues_from_words(words, max_chars=12, max_lines=1)
    assert "".join(c.text for c in cues) == "蜜蜂如何交流？它们跳舞。"
    assert all(" " not in line for c in cues for line in c.lines)


def test_latin_splitting_is_unchanged_by_the_cjk_rules() -> None:
    assert split_phrases(DIALOGUE) == [c.text for c in cues_for_dialogue(DIALOGUE, start_s=0, duration_s=20)]
    assert Cue(0, 1, ("Hello,", "world.")).text == "Hello, world."
    assert Cue(0, 1, ("蜜蜂如何", "交流。")).text == "蜜蜂如何交流。"


def test_three_line_cues_are_balanced() -> None:
    text = "Bees talk by dancing and the waggle dance tells the rest of the hive where to go"
    (cue,) = cues_for_dialogue(text, start_s=0, duration_s=5, max_chars=28, max_lines=3)
    assert len(cue.lines) == 3
    widths = [len(line) for line in cue.lines]
    assert max(widths) - min(widths) <= 10


# --- caption size follows the frame ---


def test_landscape_layout_is_as_before() -> None:
    for size, font in (((1280, 720), 40), ((1920, 1080), 59), ((640, 360), 20)):
        layout = caption_layout(*size)
        assert (layout.font_size, layout.max_chars, layout.max_lines) == (font, MAX_CHARS, MAX_LINES)


@pytest.mark.parametrize(("width", "height", "min_px"), [(720, 1280, 32), (360, 640, 16), (1080, 1920, 48)])
def test_portrait_captions_are_large_enough_to_read_on_a_phone(width: int, height: int, min_px: int) -> None:
    layout = caption_layout(width, height, Language.EN)
    assert layout.font_size >= 0.045 * width >= min_px - 1
    assert 24 <= layout.max_chars <= 28 and layout.max_lines == 3
    renderer = SubtitleRenderer(width, height, language=Language.EN)
    rgba = renderer.patch(("Hg",)).rgba
    ink_rows = np.nonzero(((rgba[..., 0] > 200) & (rgba[..., 3] == 255)).any(axis=1))[0]
    assert ink_rows.max() - ink_rows.min() + 1 >= min_px  # ascender to descender of one line of text
    lines = wrap_lines("The waggle dance tells the hive where the flowers are and how far", layout.max_chars)
    patch = renderer.patch(tuple(lines[:3]))
    assert patch.x >= 0 and patch.x + patch.width <= width  # a full portrait line fits at full size


def test_portrait_lines_fit_without_shrinking() -> None:
    layout = caption_layout(720, 1280, Language.EN)
    renderer = SubtitleRenderer(720, 1280, language=Language.EN)
    line = ("Sphinx of black quartz, judge my vow. " * 2)[: layout.max_chars]
    font = ImageFont.truetype(renderer.font_path, layout.font_size)
    assert font.getlength(line) <= layout.max_text_width


# --- fonts per language ---


def _han_font_draws(face: FontFace, chars: str) -> list[bytes]:
    font = ImageFont.truetype(face.path, 64, index=face.index)
    return [bytes(font.getmask(ch)) for ch in chars]


@pytest.mark.parametrize(("language", "family"), [(Language.ZH, "Noto Sans CJK SC"), (Language.JA, "Noto Sans CJK JP")])
def test_chinese_and_japanese_use_the_regional_noto_cjk_face(language: Language, family: str) -> None:
    face = find_font_for(language)
    assert face is not None and "CJK" in face.path
    assert ImageFont.truetype(face.path, 20, index=face.index).getname()[0] == family


def test_chinese_captions_render_glyphs_not_tofu() -> None:
    renderer = SubtitleRenderer(1280, 720, language=Language.ZH)
    assert renderer.face is not None and "CJK" in renderer.face.path
    bee, flow, tofu = (renderer.patch((text,)).rgba for text in ("蜜", "流", "\u0378"))
    assert not np.array_equal(bee, flow)
    assert not any(p.shape == tofu.shape and np.array_equal(p, tofu) for p in (bee, flow))
    masks = _han_font_draws(renderer.face, "蜜流\u0378")
    assert masks[0] != masks[2] and masks[1] != masks[2]
    # The old Latin-only font draws both as the same box: the check above is the one that catches tofu.
    latin = find_font_for(None)
    assert latin is not None
    assert len(set(_han_font_draws(latin, "蜜流"))) == 1


def test_a_caption_without_a_language_picks_the_font_from_its_script() -> None:
    renderer = SubtitleRenderer(1280, 720)
    chinese = SubtitleRenderer(1280, 720, language=Language.ZH)
    assert np.array_equal(renderer.patch(("蜜蜂如何交流",)).rgba, chinese.patch(("蜜蜂如何交流",)).rgba)
    assert SubtitleRenderer.for_cues(1280, 720, [Cue(0, 1, ("x",), Language.JA)]).language is Language.JA


@pytest.mark.parametrize(
    ("language", "name"), [(Language.AR, "NotoSansArabic-Bold"), (Language.HI, "NotoSansDevanagari-Bold")]
)
def test_arabic_and_hindi_use_noto_sans_bold(language: Language, name: str) -> None:
    face = find_font_for(language)
    assert face is not None and name in face.path


def _ink_columns(rgba: np.ndarray) -> list[tuple[int, int]]:
    """Runs of columns with white ink, left to right."""
    cols = ((rgba[..., 0] > 200) & (rgba[..., 3] == 255)).any(axis=0)
    runs, start = [], None
    for i, inked in enumerate([*cols, False]):
        if inked and start is None:
            start = i
        elif not inked and start is not None:
            runs.append((start, i))
            start = None
    return runs


def test_arabic_is_joined_and_right_to_left() -> None:
    renderer = SubtitleRenderer(1280, 720, language=Language.AR)
    joined = renderer.patch(("بببب",)).rgba
    apart = renderer.patch(("ب ب ب ب",)).rgba
    assert len(_ink_columns(joined)) == 1 and len(_ink_columns(apart)) == 4  # joined letters: one stroke
    assert joined.shape[1] < apart.shape[1]
    alef_first = _ink_columns(renderer.patch(("ا ممممم",)).rgba)  # logically first: the narrow alef
    assert alef_first[-1][1] - alef_first[-1][0] < alef_first[0][1] - alef_first[0][0]  # drawn rightmost
    mixed = renderer.patch(("صورنا النحل بكاميرا iPhone في الحديقة",)).rgba
    assert ((mixed[..., 0] > 200) & (mixed[..., 3] == 255)).mean() > 0.05


def test_letters_the_font_lacks_fall_back_to_a_font_that_has_them() -> None:
    renderer = SubtitleRenderer(1280, 720, language=Language.HI)
    with_latin = renderer.patch(("इसे AI से",)).rgba
    with_tofu = renderer.patch(("इसे \u0378\u0378 से",)).rgba
    assert not (with_latin.shape == with_tofu.shape and np.array_equal(with_latin, with_tofu))
