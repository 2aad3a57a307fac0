"""An ElevenLabs stand-in: text-to-speech with timestamps (base64 audio + character alignment) and music,
in the API's wire format, with real audio made by numpy and encoded by ffmpeg."""

from __future__ import annotations

import base64
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from nexus_core.media.runner import tool_path
from tests.standins.http_standin import Recorded, Reply, StandIn, error_reply

TTS_PATH = re.compile(r"^/v1/text-to-speech/(?P<voice>[^/]+)/with-timestamps$")
LEAD_S = 0.1  # silence before the first character, as real speech has
CHAR_S = 0.06  # each character lasts this long; spaces are silent
TONE_HZ = 220.0


def encode(pcm: np.ndarray, output_format: str) -> bytes:
    """16-bit mono PCM in the format ElevenLabs names 'codec_rate[_bitrate]' (pcm is headerless). Encoded to
    a file, not a pipe, so the mp3 carries its encoder-delay header as a real service's files do."""
    codec, rate = output_format.split("_")[:2]
    data = pcm.astype("<i2").tobytes()
    if codec == "pcm":
        return data
    with tempfile.TemporaryDirectory(prefix="standin-audio-") as tmp:
        out = Path(tmp) / f"audio.{ {'opus': 'ogg'}.get(codec, codec) }"
        args = [tool_path("ffmpeg"), "-hide_banner", "-loglevel", "error", "-f", "s16le", "-ar", rate, "-ac", "1",
                "-i", "pipe:0", str(out)]
        subprocess.run(args, input=data, capture_output=True, check=True)
        return out.read_bytes()


def speech_like(text: str, sample_rate: int) -> tuple[np.ndarray, dict[str, list[Any]]]:
    """A tone while each character is 'spoken' (silence for spaces), and its character alignment."""
    starts = [round(LEAD_S + i * CHAR_S, 3) for i in range(len(text))]
    ends = [round(s + CHAR_S, 3) for s in starts]
    total = round((LEAD_S + len(text) * CHAR_S + LEAD_S) * sample_rate)
    t = np.arange(total) / sample_rate
    gate = np.zeros(total)
    for char, start, end in zip(text, starts, ends, strict=True):
        if not char.isspace():
            gate[round(start * sample_rate) : round(end * sample_rate)] = 1.0
    pcm = (0.5 * 32767 * np.sin(2 * np.pi * TONE_HZ * t) * gate).astype(np.int16)
    alignment = {"characters": list(text), "character_start_times_seconds": starts,
                 "character_end_times_seconds": ends}
    return pcm, alignment


def music_like(seconds: float, sample_rate: int) -> np.ndarray:
    t = np.arange(round(seconds * sample_rate)) / sample_rate
    chord = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6)) / 3
    return (0.4 * 32767 * chord).astype(np.int16)


class ElevenLabsStandIn(StandIn):
    """POST /v1/text-to-speech/{voice}/with-timestamps and POST /v1/music, checked like the real API."""

    def __init__(self, api_key: str = "test-key") -> None:
        self.api_key = api_key
        super().__init__(self._route, self._check_request)

    def tts_requests(self) -> list[Recorded]:
        return self.calls("/with-timestamps")

    def music_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path == "/v1/music"]

    def _check_request(self, request: Recorded) -> Reply | None:
        if request.headers.get("xi-api-key") != self.api_key:
            return Reply(401, {"detail": {"status": "invalid_api_key", "message": "Invalid API key"}})
        if request.method != "POST":
            return error_reply(405, "method not allowed")
        return None

    def _route(self, request: Recorded) -> Reply:
        output_format = request.query.get("output_format", "mp3_44100_128")
        rate = int(output_format.split("_")[1])
        body = request.json() or {}
        if TTS_PATH.match(request.path):
            if not body.get("text") or not body.get("model_id"):
                return Reply(422, {"detail": [{"loc": ["body", "text"], "msg": "field required"}]})
            pcm, alignment = speech_like(body["text"], rate)
            return Reply(200, {"audio_base64": base64.b64encode(encode(pcm, output_format)).decode(),
                               "alignment": alignment, "normalized_alignment": alignment})
        if request.path == "/v1/music":
            length_ms = body.get("music_length_ms")
            if not body.get("prompt") or not isinstance(length_ms, int) or not 3000 <= length_ms <= 600_000:
                return Reply(422, {"detail": [{"loc": ["body", "music_length_ms"], "msg": "out of range"}]})
            audio = encode(music_like(length_ms / 1000, rate), output_format)
            return Reply(200, audio, {"content-type": "audio/mpeg"})
        return error_reply(404, f"unknown route {request.path}")
