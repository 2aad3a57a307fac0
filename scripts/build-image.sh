#!/usr/bin/env bash
# Builds the Nexus Video image from the Dockerfile on a machine with no container registry (`make image`).
#
#   scripts/build-image.sh            # nexus-video:dev and ghcr.io/nexus-video/nexus-video:<chart tag>
#   NEXUS_IMAGE_EXTRAS=api,cloud,k8s,diffusion scripts/build-image.sh   # the GPU image (CUDA torch, ~3 GB more)
#
# Installs podman, buildah, mmdebstrap, uidmap and fuse-overlayfs (apt) when missing; makes the base
# image `localhost/debian:bookworm-slim` from Debian's packages (mmdebstrap, ~45 s) when it is not in
# local storage yet, so `FROM debian:bookworm-slim` resolves without a registry; then builds with
# `buildah bud --isolation chroot` (podman's own run fails here on cgroups and rlimits). pip inside the
# build gets the host's CA bundle through a read-only volume and the PIP_CERT build argument. Elsewhere,
# `docker build .` builds the same Dockerfile. Set NEXUS_IMAGE_TAG for another local name (nexus-video:dev).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

BASE=localhost/debian:bookworm-slim
EXTRAS=${NEXUS_IMAGE_EXTRAS:-api,cloud,k8s}
SUFFIX=""
case ",$EXTRAS," in *,diffusion,*) SUFFIX=-gpu ;; esac  # the GPU image is tagged apart from the CPU one
TAG=${NEXUS_IMAGE_TAG:-nexus-video:dev$SUFFIX}
HOST_CA=/etc/ssl/certs/ca-certificates.crt
STATE="$ROOT/.image"

log() { echo "build-image: $*" >&2; }
die() { log "error: $*"; exit 1; }

chart_image() {  # the image the Helm values name: <repository>:<tag> of the user code deployment
  local repo tag
  repo=$(sed -n 's/^ *repository: *\([^ #]*\).*/\1/p' helm-values/values.yaml | head -n 1)
  tag=$(sed -n 's/^ *tag: *"\{0,1\}\([^" #]*\)"\{0,1\}.*/\1/p' helm-values/values.yaml | head -n 1)
  [ -n "$repo" ] && [ -n "$tag" ] || die "no image repository/tag found in helm-values/values.yaml"
  echo "$repo:$tag$SUFFIX"
}

ensure_tools() {
  local missing=() cmd pkg
  for pair in podman:podman buildah:buildah mmdebstrap:mmdebstrap newuidmap:uidmap fuse-overlayfs:fuse-overlayfs; do
    cmd=${pair%%:*} pkg=${pair#*:}
    command -v "$cmd" >/dev/null || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  log "installing ${missing[*]} (apt-get)"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

ensure_base() {
  if buildah inspect --type image "$BASE" >/dev/null 2>&1; then
    log "base $BASE present"
    return 0
  fi
  mkdir -p "$STATE"
  log "making $BASE from Debian packages (mmdebstrap --variant=minbase bookworm)"
  rm -f "$STATE/rootfs.tar"
  mmdebstrap --quiet --variant=minbase --include=ca-certificates bookworm "$STATE/rootfs.tar"
  podman import --quiet "$STATE/rootfs.tar" "$BASE" >/dev/null
  rm -f "$STATE/rootfs.tar"
}

main() {
  ensure_tools
  ensure_base
  local chart started ca_args=()
  chart=$(chart_image)
  if [ -f "$HOST_CA" ]; then
    ca_args=(--volume "$HOST_CA:/etc/ssl/certs/host-ca.crt:ro" --build-arg PIP_CERT=/etc/ssl/certs/host-ca.crt)
  fi
  started=$(date +%s)
  log "buildah bud $TAG (extras: $EXTRAS)"
  buildah bud --isolation chroot --layers "${ca_args[@]}" --build-arg "EXTRAS=$EXTRAS" \
    -t "$TAG" -t "$chart" -f Dockerfile .
  local size
  size=$(buildah images --format '{{.Size}}' "$TAG" | head -n 1)
  log "built $TAG and $chart in $(( $(date +%s) - started )) s, $size"
}

main "$@"
