"""nexus_core.logs: JSON lines with the bound ids, text in a terminal, tokens never written."""

from __future__ import annotations

import io
import json
import logging

import pytest

from nexus_core.logs import JsonFormatter, TextFormatter, log_context, logged_phase, redact, resolve_format

TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXZhbHVl"


def _capture(formatter: logging.Formatter) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    logger = logging.getLogger(f"nexus.test.{id(stream)}")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger, stream


def test_json_lines_carry_the_bound_ids_and_no_token() -> None:
    logger, stream = _capture(JsonFormatter("api"))
    with log_context(video_id="v1", run_id="r1", user_id="alice"):
        logger.info("got Authorization: Bearer %s", TOKEN, extra={"phase": "rendering", "status": 202})
        with logged_phase(video_id="v2", run_id="r2", phase="encoding", asset="renditions"):
            logger.warning("inside")
    logger.info("outside")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    first = lines[0]
    assert first["video_id"] == "v1" and first["run_id"] == "r1" and first["user_id"] == "alice"
    assert first["phase"] == "rendering" and first["status"] == 202 and first["service"] == "api"
    assert TOKEN not in stream.getvalue() and "[redacted]" in first["message"]
    inside = lines[1]
    ids = (inside["video_id"], inside["run_id"], inside["phase"], inside["user_id"])
    assert ids == ("v2", "r2", "encoding", "alice")
    assert "video_id" not in lines[2]


def test_a_failing_phase_logs_its_error_with_the_ids(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="nexus.pipeline")
    with pytest.raises(ValueError), logged_phase(video_id="v3", run_id="r3", phase="rendering", asset="master"):
        raise ValueError("ffmpeg said no")
    started, failed = caplog.records[-2:]
    assert started.getMessage() == "master started"
    assert failed.levelname == "ERROR" and "ffmpeg said no" in failed.getMessage()
    line = json.loads(JsonFormatter().format(failed))
    assert (line["video_id"], line["run_id"], line["phase"], line["asset"]) == ("v3", "r3", "rendering", "master")


def test_text_lines_stay_human() -> None:
    logger, stream = _capture(TextFormatter())
    with log_context(video_id="v1"):
        logger.warning("slow step")
    assert stream.getvalue().rstrip().endswith("slow step [video=v1]")
    assert not stream.getvalue().startswith("{")


def test_format_is_json_in_a_production_pod_and_text_in_a_terminal() -> None:
    assert resolve_format(None, environment="prod", interactive=False) == "json"
    assert resolve_format("auto", environment="prod", interactive=True) == "text"
    assert resolve_format(None, environment="local", interactive=False) == "text"
    assert resolve_format("JSON", environment="local", interactive=True) == "json"
    with pytest.raises(ValueError, match="json, text or auto"):
        resolve_format("yaml", environment="local", interactive=False)


def test_redact_scrubs_bearer_tokens_jwts_and_secret_parameters() -> None:
    text = redact(f"Bearer abc.def {TOKEN} /files/x?exp=1&sig=deadbeef&name=a")
    assert "abc.def" not in text and TOKEN not in text and "deadbeef" not in text and "name=a" in text
