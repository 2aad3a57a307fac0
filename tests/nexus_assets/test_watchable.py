"""A video a person would watch: a neural voice, captions on the spoken word, pictures of the subject,
no frozen scene, clean thumbnails and the credits in the file. Probed from the real output."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from nexus_core import storage_keys as keys
from nexus_core.catalog import VideoRecord
from nexus_core.media.probe import probe
from nexus_core.settings import NexusSettings
from resources.storage import LocalObjectStore

pytestmark = pytest.mark.slow
ONSET_TOLERANCE_S = 0.1


@pytest.fixture(scope="module")
def bees(make_video) -> VideoRecord:
    return make_video(
        "How honeybees communicate with the waggle dance", "--duration", "14", "--resolution", "360p",
        "--fps", "24", "--music", "none",
    )


def _store(settings: NexusSettings) -> LocalObjectStore:
    return LocalObjectStore(root=str(settings.object_store_root))


def _srt_starts(text: str) -> list[float]:
    found = re.findall(r"(\d\d):(\d\d):(\d\d),(\d\d\d) -->", text)
    return [int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000 for h, m, s, ms in found]


def run_ffmpeg_stderr(args: list[str]) -> str:
    """ffmpeg's log of a filter run (what silencedetect and freezedetect print)."""
    done = subprocess.run(["ffmpeg", "-hide_banner", "-nostats", *args], capture_output=True, check=True)
    return done.stderr.decode(errors="replace")


def speech_onsets(video: Path) -> list[float]:
    """Where speech starts after a silence in the video's soundtrack (ffmpeg silencedetect)."""
    log = run_ffmpeg_stderr(["-i", str(video), "-vn", "-af", "silencedetect=noise=-38dB:d=0.12", "-f", "null", "-"])
    ends = [float(x) for x in re.findall(r"silence_end: ([0-9.]+)", log)]
    starts = [float(x) for x in re.findall(r"silence_start: ([0-9.-]+)", log)]
    onsets = list(ends)
    if not starts or starts[0] > 0.05:  # speech from the very first sample
        onsets.insert(0, 0.0)
    return onsets


def test_every_caption_starts_on_its_speech(nexus_settings: NexusSettings, bees: VideoRecord) -> None:
    store = _store(nexus_settings)
    cues = _srt_starts(store.path_of(bees.artifacts["captions_srt"]).read_text())
    onsets = speech_onsets(store.path_of(bees.artifacts["video"]))
    assert len(cues) >= 2, cues
    misses = [(c, min(onsets, key=lambda o: abs(o - c))) for c in cues]
    assert all(abs(c - o) <= ONSET_TOLERANCE_S for c, o in misses), misses


def test_the_default_voice_is_neural_and_recorded(nexus_settings: NexusSettings, bees: VideoRecord) -> None:
    store = _store(nexus_settings)
    voice = store.get_json(keys.manifest(bees.video_id, "assets/voice"))
    assert {item["provider"] for item in voice["items"]} == {"neural:en_US-joe-medium"}
    assert all(item.get("speed", 1.0) <= 1.1 for item in voice["items"])
    tags = probe(store.path_of(bees.artifacts["video"])).tags
    assert "Voice: neural:en_US-joe-medium" in tags.get("comment", "")
    assert "OpenMoji" in tags.get("comment", "")
    assert "honeybees" in tags.get("title", "").lower()
    credits = store.path_of(bees.artifacts["credits"]).read_text()
    assert "CC BY-SA 4.0" in credits


def test_the_pictures_show_the_subject(nexus_settings: NexusSettings, bees: VideoRecord) -> None:
    images = _store(nexus_settings).get_json(keys.manifest(bees.video_id, "assets/images"))
    shown = [name for item in images["items"] for name in item["illustrations"]]
    assert any("bee" in name for name in shown), shown


def test_no_scene_reads_as_frozen(nexus_settings: NexusSettings, bees: VideoRecord) -> None:
    video = _store(nexus_settings).path_of(bees.artifacts["video"])
    log = run_ffmpeg_stderr(["-i", str(video), "-an", "-vf", "freezedetect=n=-60dB:d=1", "-f", "null", "-"])
    assert "freeze_start" not in log, log[-2000:]


def test_thumbnails_are_clean_frames_of_the_video(nexus_settings: NexusSettings, bees: VideoRecord) -> None:
    """A thumbnail matches the video away from the captions, and has no caption box of its own."""
    store = _store(nexus_settings)
    thumbs = [cv2.imread(str(store.path_of(bees.artifacts[f"thumbnail_{i}"]))) for i in range(3)]
    for thumb in thumbs:
        band = thumb[int(thumb.shape[0] * 0.72) :]
        boxed = np.all(band < 40, axis=2).mean()  # the caption box is a large near-black area
        assert boxed < 0.12, boxed
