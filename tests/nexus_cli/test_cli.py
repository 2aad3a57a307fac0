"""The command line: bad requests get a clear message naming the field and the allowed values."""

from __future__ import annotations

import pytest

from nexus_cli.main import build_parser, main, parse_request
from nexus_core.catalog import Catalog
from nexus_core.models import Aspect, CaptionStyle, Language, MusicStyle, Quality, Resolution, VideoRequest
from nexus_core.settings import NexusSettings


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--quality", "SUPER"], ["--quality", "STANDARD", "HD", "ULTRA"]),
        (["--resolution", "1k"], ["--resolution", "360p", "2160p"]),
        (["--fps", "29"], ["--fps", "24", "60"]),
        (["--aspect", "4:3"], ["--aspect", "16:9", "9:16", "1:1"]),
        (["--music", "jazz"], ["--music", "ambient", "cinematic", "none"]),
        (["--language", "xx"], ["--language", "en", "fr"]),
        (["--duration", "3"], ["--duration", "5"]),
        (["--duration", "601"], ["--duration", "600"]),
    ],
)
def test_bad_values_are_refused_with_the_allowed_values(
    nexus_settings: NexusSettings, capsys: pytest.CaptureFixture[str], args: list[str], expected: list[str]
) -> None:
    before = len(Catalog(nexus_settings.catalog_url).list_videos())
    assert main(["generate", "a prompt", *args]) == 2
    out = capsys.readouterr().out
    for word in expected:
        assert word in out
    assert len(Catalog(nexus_settings.catalog_url).list_videos()) == before


def test_prompt_of_only_control_characters_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "\x00\x07 \x1b"]) == 2
    assert "prompt" in capsys.readouterr().out


def test_overlong_prompt_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "x" * 2001]) == 2
    assert "2000" in capsys.readouterr().out


def test_backfill_with_no_matching_video_says_so(
    nexus_settings: NexusSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["backfill", "--phase", "encoding", "--video", "doesnotexist"]) == 2
    assert "unknown video" in capsys.readouterr().out


def test_unknown_phase_is_refused() -> None:
    with pytest.raises(SystemExit) as exc:
        main(["backfill", "--phase", "nope"])
    assert exc.value.code == 2


def test_an_operators_dagster_yaml_is_never_overwritten(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nexus_cli.instance import prepare_instance

    home = tmp_path / "dagster"
    home.mkdir()
    mine = "telemetry:\n  enabled: false\n# the operator's own instance config\n"
    (home / "dagster.yaml").write_text(mine)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    prepare_instance(NexusSettings(home=tmp_path))
    assert (home / "dagster.yaml").read_text() == mine
    chosen = tmp_path / "chosen.yaml"
    chosen.write_text("telemetry:\n  enabled: false\n")
    prepare_instance(NexusSettings(home=tmp_path, dagster_config=chosen))
    assert (home / "dagster.yaml").read_text() == chosen.read_text()


@pytest.mark.parametrize(
    ("prompt", "args", "expected"),
    [
        ("蜜蜂如何交流", ["--language", "en"], ["--language", "Chinese", "'zh'"]),
        ("How bees talk", ["--language", "zh"], ["--language", "Latin"]),
        ("בתים בתל אביב", [], ["Hebrew", "zh", "ja", "ar", "hi"]),
        ("bees", ["--captions", "subtitles"], ["--captions", "phrase", "karaoke", "none"]),
    ],
)
def test_a_prompt_in_another_script_or_a_bad_caption_style_is_refused_in_one_line(
    nexus_settings: NexusSettings, capsys: pytest.CaptureFixture[str], prompt: str, args: list[str],
    expected: list[str],
) -> None:
    before = len(Catalog(nexus_settings.catalog_url).list_videos())
    assert main(["generate", prompt, *args]) == 2
    out = capsys.readouterr().out
    assert "Traceback" not in out
    for word in expected:
        assert word in out, out
    assert len(Catalog(nexus_settings.catalog_url).list_videos()) == before


def test_good_flags_become_the_request_they_name() -> None:
    def parsed(*argv: str) -> VideoRequest:
        return parse_request(build_parser().parse_args(["generate", *argv]))

    request = parsed("bees", "--duration", "12", "--quality", "ultra", "--resolution", "1080P", "--aspect", "9:16",
                     "--fps", "24", "--music", "Cinematic", "--language", "FR", "--captions", "KARAOKE",
                     "--voice", "siwis")
    assert (request.prompt, request.duration_seconds, request.frame_rate, request.voice) == ("bees", 12, 24, "siwis")
    assert (request.quality, request.resolution, request.aspect) == (Quality.ULTRA, Resolution.P1080, Aspect.PORTRAIT)
    assert (request.music_style, request.language, request.caption_style) == (
        MusicStyle.CINEMATIC, Language.FR, CaptionStyle.KARAOKE)
    assert parsed("bees") == VideoRequest(prompt="bees")  # the defaults of the flags are the request's
    assert parsed("東京の夜景").language is Language.JA  # no --language: the prompt's script decides


def test_voices_lists_the_engine_of_every_language(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["voices"]) == 0
    out = capsys.readouterr().out
    assert "en  English     neural:en_US-joe-medium" in out
    assert "zh  Chinese     espeak-ng (espeak-ng voice cmn)" in out
    assert "f3" in out and "5)" not in out
