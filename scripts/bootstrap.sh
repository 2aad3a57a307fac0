#!/usr/bin/env bash
# Installs what Nexus Video needs on a fresh Debian 12 machine: system packages (ffmpeg, espeak-ng,
# fonts) and a virtual environment with the project. Safe to run again; it skips what is present.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
EXTRAS=${EXTRAS-}

need_apt=()
command -v ffmpeg >/dev/null || need_apt+=(ffmpeg)
command -v espeak-ng >/dev/null || need_apt+=(espeak-ng)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf ] || need_apt+=(fonts-dejavu-core)
# Caption fonts for zh/ja (Noto Sans CJK), ar and hi (Noto Sans Arabic, Devanagari), and libraqm, which
# Pillow uses to join Arabic letters, order right-to-left text and shape Devanagari.
[ -f /usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc ] || need_apt+=(fonts-noto-cjk)
[ -f /usr/share/fonts/truetype/noto/NotoSansArabic-Bold.ttf ] || need_apt+=(fonts-noto-core)
dpkg -s libraqm0 >/dev/null 2>&1 || need_apt+=(libraqm0)
# WordNet 3.0 (Princeton's licence): what the offline script writer says about an English prompt's nouns.
[ -f /usr/share/wordnet/data.noun ] || need_apt+=(wordnet-base)
for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg"); done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "==> apt-get install ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
if [ ! -x "$VENV/bin/python" ]; then
  echo "==> creating $VENV"
  "$PY" -m venv "$VENV"
fi
stamp_base="$VENV/.installed-$(cat pyproject.toml | sha1sum | cut -c1-12)"
stamp="$stamp_base-$EXTRAS"
# The dev extra includes everything in stack (`make up`): after `make test`, `make up` installs nothing more.
[ "$EXTRAS" = stack ] && [ -f "$stamp_base-dev" ] && stamp="$stamp_base-dev"
if [ ! -f "$stamp" ]; then
  target="."; [ -n "$EXTRAS" ] && target=".[$EXTRAS]"
  echo "==> pip install -e $target"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q -e "$target"
  rm -f "$VENV"/.installed-* && touch "$stamp"
fi
