"""Issue 12.8 (and the CLI side of 12.4): bad arguments and settings give one line and exit code 2 (usage)
or 1 (a service out of reach), never a traceback. Each case runs the real `nexus` command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

NEXUS = str(Path(sys.executable).parent / "nexus")


def _nexus(tmp_path: Path, *args: str | bytes, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("NEXUS_", "KAFKA_", "DAGSTER_"))}
    environ.update({"NEXUS_HOME": str(tmp_path / "home"), **env})
    return subprocess.run([NEXUS, *args], env=environ, capture_output=True, text=True, timeout=120, check=False)


def _one_line_error(result: subprocess.CompletedProcess[str], code: int, *needles: str) -> None:
    out = result.stdout + result.stderr
    assert result.returncode == code, out
    assert "Traceback" not in out, out
    assert all(n in out for n in needles), out


@pytest.mark.parametrize(("args", "env", "code", "needle"), [
    (["grant-tokens", "--user", "alice", "--amount", "1000000000000000000000000000000"], {}, 2, "--amount"),
    (["grant-tokens", "--user", "", "--amount", "5"], {}, 2, "--user"),
    (["grant-tokens", "--user", "   ", "--amount", "5"], {}, 2, "--user"),
    (["grant-tokens", "--user", "alice", "--amount", "0"], {}, 2, "--amount"),
    (["dev-token", "--user", "alice", "--ttl", "-10"], {}, 2, "--ttl"),
    (["dev-token", "--user", "alice", "--private-key", "/nonexistent/key.pem"], {}, 2, "No such file"),
    (["api", "--port", "99999"], {}, 2, "--port"),
    (["api", "--workers", "0"], {}, 2, "--workers"),
    (["api"], {"NEXUS_WORKERS": "0"}, 2, "NEXUS_WORKERS"),
    (["dev-token", "--user", "alice"], {"NEXUS_API_PORT": "99999"}, 2, "NEXUS_API_PORT"),
    (["grant-tokens", "--user", "alice", "--amount", "5"],
     {"NEXUS_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/nexus"}, 1, "cannot reach the database"),
    (["api", "--port", "18997"], {"NEXUS_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/nexus"}, 1,
     "cannot reach the database"),
])
def test_bad_input_is_one_line_and_an_exit_code(
    tmp_path: Path, args: list[str], env: dict[str, str], code: int, needle: str
) -> None:
    _one_line_error(_nexus(tmp_path, *args, **env), code, needle)


def test_a_private_key_that_is_not_pem_is_refused(tmp_path: Path) -> None:
    key = tmp_path / "key.pem"
    key.write_text("not a key\n")
    _one_line_error(_nexus(tmp_path, "dev-token", "--user", "alice", "--private-key", str(key)), 2, "PEM")


def test_a_prompt_that_is_not_valid_unicode_is_refused(tmp_path: Path) -> None:
    """An undecodable byte in argv reaches Python as a lone surrogate (surrogateescape)."""
    result = subprocess.run([NEXUS.encode(), b"generate", b"A park \xff in autumn"], capture_output=True,
                            timeout=120, check=False,
                            env={**os.environ, "NEXUS_HOME": str(tmp_path / "home")})
    out = (result.stdout + result.stderr).decode(errors="replace")
    assert result.returncode == 2, out
    assert "not valid Unicode" in out and "Traceback" not in out, out


def test_a_good_grant_still_works(tmp_path: Path) -> None:
    result = _nexus(tmp_path, "grant-tokens", "--user", "alice", "--amount", "1000")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "alice: balance 1000" in result.stdout
