"""The object-store key scheme, in one place: videos/{video_id}/{phase}/..."""

from __future__ import annotations

import re
import uuid

# a video id is a Dagster partition key and a path segment: the API's path parameters use this pattern too
VIDEO_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
_VIDEO_ID = re.compile(VIDEO_ID_PATTERN)

# the store folder of each phase's files and manifest, under videos/{video_id}/
SCRIPT = "script"
IMAGES = "assets/images"
VOICE = "assets/voice"
MUSIC = "assets/music"
COMPOSITING = "compositing"
RENDERING = "rendering"
ENCODING = "encoding"
THUMBNAILS = "thumbnails"


def new_video_id() -> str:
    """A fresh video id: 16 hex digits."""
    return uuid.uuid4().hex[:16]


def is_video_id(value: object) -> bool:
    """Whether value is a string that matches VIDEO_ID_PATTERN."""
    return isinstance(value, str) and _VIDEO_ID.fullmatch(value) is not None  # not match: "$" allows a final \n


def check_video_id(video_id: str) -> str:
    """Return the id if it is safe as a partition key and a path segment, else raise ValueError."""
    if not is_video_id(video_id):
        raise ValueError(f"invalid video id {video_id!r}: use 1-64 letters, digits, '_' or '-'")
    return video_id


def video_prefix(video_id: str) -> str:
    return f"videos/{check_video_id(video_id)}/"


def scenario(video_id: str) -> str:
    return f"{video_prefix(video_id)}{SCRIPT}/scenario.json"


def scene_image(video_id: str, scene_number: int) -> str:
    return f"{video_prefix(video_id)}{IMAGES}/scene_{scene_number:03d}.png"


def voice_clip(video_id: str, scene_number: int) -> str:
    return f"{video_prefix(video_id)}{VOICE}/scene_{scene_number:03d}.wav"


def music_bed(video_id: str) -> str:
    return f"{video_prefix(video_id)}{MUSIC}/bed.wav"


def manifest(video_id: str, phase: str) -> str:
    """Each phase writes one manifest.json listing its keys, checksums and figures."""
    return f"{video_prefix(video_id)}{phase}/manifest.json"


def scene_clip(video_id: str, scene_number: int) -> str:
    return f"{video_prefix(video_id)}{COMPOSITING}/scene_{scene_number:03d}.mp4"


def master(video_id: str) -> str:
    return f"{video_prefix(video_id)}{RENDERING}/master.mp4"


def master_audio(video_id: str) -> str:
    return f"{video_prefix(video_id)}{RENDERING}/mix.m4a"


def rendition(video_id: str, name: str) -> str:
    return f"{video_prefix(video_id)}{ENCODING}/{name}.mp4"


def captions(video_id: str, ext: str) -> str:
    return f"{video_prefix(video_id)}{ENCODING}/captions.{ext}"


def published(video_id: str, name: str) -> str:
    """Final, user-facing files: video.mp4, video.h265.mp4, captions.srt, captions.vtt."""
    return f"{video_prefix(video_id)}{name}"


def thumbnail(video_id: str, index: int) -> str:
    return f"{video_prefix(video_id)}{THUMBNAILS}/thumb_{index}.jpg"


def poster(video_id: str) -> str:
    return f"{video_prefix(video_id)}{THUMBNAILS}/poster.jpg"
