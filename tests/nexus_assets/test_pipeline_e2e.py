"""End to end: `nexus generate` makes real, probed videos through the six Dagster phases."""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import dagster as dg
import numpy as np
import pytest

from nexus_assets.definitions import make_video_job
from nexus_assets.partitions import VIDEOS_PARTITION
from nexus_core.catalog import Catalog, VideoRecord
from nexus_core.media.audio import measure_loudness
from nexus_core.media.probe import count_frames, is_faststart, probe
from nexus_core.media.runner import run_ffmpeg
from nexus_core.models import VideoStatus
from nexus_core.settings import NexusSettings
from resources.storage import LocalObjectStore

pytestmark = pytest.mark.slow


def _path(settings: NexusSettings, key: str) -> Path:
    return LocalObjectStore(root=str(settings.object_store_root)).path_of(key)


def test_generate_completes_and_records_the_video(nexus_settings: NexusSettings, hd_video: VideoRecord) -> None:
    record = Catalog(nexus_settings.catalog_url).require(hd_video.video_id)
    assert record.status is VideoStatus.COMPLETED
    assert record.error in (None, "")
    video = _path(nexus_settings, record.artifacts["video"])
    assert record.size_bytes == video.stat().st_size
    assert abs(record.duration_s - 8.0) <= 0.1
    assert set(record.phase_seconds) >= {"scenario", "scene_images", "voiceover", "music_bed",
                                         "composited_scenes", "master", "renditions", "published_video"}


def test_video_has_requested_duration_streams_size_and_fps(
    nexus_settings: NexusSettings, hd_video: VideoRecord
) -> None:
    path = _path(nexus_settings, hd_video.artifacts["video"])
    info = probe(path)
    assert abs(info.duration_s - 8.0) <= 0.1
    assert info.video_codec == "h264" and info.audio_codec == "aac"
    assert (info.width, info.height) == (640, 360)
    assert info.fps == pytest.approx(24.0)
    assert count_frames(path) == 8 * 24
    assert is_faststart(path)


def test_audio_is_loudness_normalized_and_not_silent(nexus_settings: NexusSettings, hd_video: VideoRecord) -> None:
    report = measure_loudness(_path(nexus_settings, hd_video.artifacts["video"]))
    assert -17.0 <= report.integrated_lufs <= -15.0
    assert report.true_peak_dbtp <= -1.0 + 0.05


def test_captions_are_written_and_burned_in(
    nexus_settings: NexusSettings, hd_video: VideoRecord, tmp_path: Path
) -> None:
    srt = _path(nexus_settings, hd_video.artifacts["captions_srt"]).read_text()
    vtt = _path(nexus_settings, hd_video.artifacts["captions_vtt"]).read_text()
    assert vtt.startswith("WEBVTT")
    starts = re.findall(r"(\d\d):(\d\d):(\d\d),(\d\d\d) --> (\d\d):(\d\d):(\d\d),(\d\d\d)", srt)
    assert starts, srt
    h, m, s, ms, *end = (int(x) for x in starts[0])
    t_in = (h * 3600 + m * 60 + s + ms / 1000 + end[0] * 3600 + end[1] * 60 + end[2] + end[3] / 1000) / 2
    frame = tmp_path / "frame.png"
    run_ffmpeg(["-ss", f"{t_in:.3f}", "-i", str(_path(nexus_settings, hd_video.artifacts["video"])),
                "-frames:v", "1", str(frame)])
    image = cv2.imread(str(frame))
    bottom = image[int(image.shape[0] * 0.6):]
    near_white = np.all(bottom > 225, axis=2).mean()
    near_black = np.all(bottom < 40, axis=2).mean()
    assert near_white > 0.003, "no white subtitle text in the lower part of the frame"
    assert near_black > 0.003, "no dark outline or box behind the subtitle text"


def test_three_distinct_full_size_thumbnails_and_a_poster(
    nexus_settings: NexusSettings, hd_video: VideoRecord
) -> None:
    thumbs = sorted(k for k in hd_video.artifacts if k.startswith("thumbnail_"))
    assert len(thumbs) == 3
    images = [cv2.imread(str(_path(nexus_settings, hd_video.artifacts[name]))) for name in thumbs]
    for image in images:
        assert image is not None and image.shape == (360, 640, 3) and image.std() > 5
    for i in range(3):
        for j in range(i + 1, 3):
            assert np.abs(images[i].astype(int) - images[j].astype(int)).mean() > 4, (i, j)
    poster = cv2.imread(str(_path(nexus_settings, hd_video.artifacts["poster"])))
    assert poster is not None and poster.shape == (360, 640, 3)


def test_rematerializing_master_reuses_stored_scene_clips(
    nexus_settings: NexusSettings, hd_video: VideoRecord
) -> None:
    store_root = nexus_settings.object_store_root
    clips = sorted((store_root / "videos" / hd_video.video_id / "compositing").glob("scene_*.mp4"))
    assert clips
    clip_times = [c.stat().st_mtime_ns for c in clips]
    master = store_root / "videos" / hd_video.video_id / "rendering" / "master.mp4"
    master_time = master.stat().st_mtime_ns
    instance = dg.DagsterInstance.get()
    result = dg.execute_job(
        dg.reconstructable(make_video_job), instance=instance,
        asset_selection=[dg.AssetKey("master"), dg.AssetKey("renditions"), dg.AssetKey("published_video")],
        tags={"dagster/partition": hd_video.video_id},
        run_config={"execution": {"config": {"in_process": {}}}},
    )
    assert result.success
    assert [c.stat().st_mtime_ns for c in clips] == clip_times
    assert master.stat().st_mtime_ns > master_time
    assert Catalog(nexus_settings.catalog_url).require(hd_video.video_id).status is VideoStatus.COMPLETED
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialized == {"master", "renditions", "published_video"}


def test_runs_and_partition_are_recorded_in_the_instance(hd_video: VideoRecord) -> None:
    instance = dg.DagsterInstance.get()
    assert hd_video.video_id in instance.get_dynamic_partitions(VIDEOS_PARTITION)
    records = instance.get_run_records(dg.RunsFilter(tags={"dagster/partition": hd_video.video_id}))
    assert any(r.dagster_run.status is dg.DagsterRunStatus.SUCCESS for r in records)


def test_ultra_portrait_french_video_has_h265_rendition(nexus_settings: NexusSettings, make_video) -> None:
    record = make_video(
        "Les volcans d'Islande et la vie autour d'eux", "--duration", "5", "--resolution", "360p",
        "--aspect", "9:16", "--fps", "25", "--quality", "ULTRA", "--music", "none", "--language", "fr",
    )
    h264 = probe(_path(nexus_settings, record.artifacts["video"]))
    h265 = probe(_path(nexus_settings, record.artifacts["video_h265"]))
    assert (h264.video_codec, h265.video_codec) == ("h264", "hevc")
    assert (h265.width, h265.height) == (360, 640)
    assert abs(h265.duration_s - 5.0) <= 0.1
    assert measure_loudness(_path(nexus_settings, record.artifacts["video"])).integrated_lufs > -18
