# The Nexus Video image: the code server, run and step pods of the Helm chart (helm-values/), the API and
# the CLI. Build anywhere with `docker build .`; on our machines, where no registry is reachable,
# `make image` (scripts/build-image.sh) makes the base from Debian packages and builds this same file.
#
#   docker build -t ghcr.io/nexus-video/nexus-video:0.1.0 .                                  # CPU image
#   docker build --build-arg EXTRAS=api,cloud,k8s,diffusion -t ghcr.io/nexus-video/nexus-video:0.1.0-gpu .
#
# EXTRAS are the project's optional dependency groups (pyproject.toml). Adding `diffusion` installs
# torch from PyPI, whose Linux wheel is the CUDA build (its nvidia-* CUDA 13 libraries, ~3 GB): the GPU
# image for the scene_images step on the GPU pool. No secret is baked in: keys and URLs come from the
# pod's environment (the nexus-env Secret).
FROM debian:bookworm-slim

# Optional dependency groups; the production default is the API, the cloud providers and Kubernetes.
ARG EXTRAS=api,cloud,k8s
# pip's CA bundle inside the build; empty in a normal `docker build`. scripts/build-image.sh mounts the
# host's bundle and passes its path where TLS to PyPI is intercepted (docs/deployment.md).
ARG PIP_CERT

ENV DEBIAN_FRONTEND=noninteractive \
    LANG=C.UTF-8 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# System packages, as scripts/bootstrap.sh installs them: Python 3.11, ffmpeg, espeak-ng, caption fonts
# (Latin/Greek/Cyrillic, CJK, Arabic and Devanagari), libraqm for complex-script shaping, WordNet; the
# virtual environment; the non-root user `nexus` (uid and gid 10001, as nexus_core/placement.py runs the GPU pod).
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      python3 python3-venv ca-certificates \
      ffmpeg espeak-ng \
      fonts-dejavu-core fonts-noto-cjk fonts-noto-core libraqm0 \
      wordnet-base \
 && rm -rf /var/lib/apt/lists/* \
 && python3 -m venv /opt/venv \
 && ln -s /opt/venv/bin/python /usr/local/bin/python \
 && groupadd --gid 10001 nexus \
 && useradd --uid 10001 --gid 10001 --create-home --home-dir /home/nexus --shell /usr/sbin/nologin nexus \
 && mkdir -p /opt/dagster/dagster_home \
 && chown nexus:nexus /opt/dagster/dagster_home

WORKDIR /app

# Dependencies before code: this layer changes only when pyproject.toml (or EXTRAS) does. pip installs
# the project's dependencies and extras from pyproject.toml alone (a package with no modules yet, which
# the editable install below replaces).
COPY pyproject.toml /app/pyproject.toml
RUN touch README.md \
 && pip install --upgrade "pip>=24" "setuptools>=68" wheel \
 && pip install "/app[$EXTRAS]" \
 && rm -rf README.md build ./*.egg-info

# The code, installed in place (editable), so /app is both the code location's working directory
# (DeploySettings.container_workdir) and the package the `nexus` and `dagster` commands import.
COPY . /app
RUN pip install --no-deps --no-build-isolation -e /app \
 && python -m compileall -q /app/nexus_core /app/nexus_assets /app/resources /app/sensors /app/api /app/nexus_cli

# Run as the non-root user made above; DAGSTER_HOME (the chart mounts the instance there) and NEXUS_HOME
# (scratch, caches) are its own. The code and the virtual environment stay root's, read-only to it.
ENV DAGSTER_HOME=/opt/dagster/dagster_home \
    NEXUS_HOME=/home/nexus/.nexus \
    HOME=/home/nexus
USER 10001:10001

EXPOSE 3030 8000
# The chart's user code deployment; the run and step pods get their own command from Dagster.
CMD ["dagster", "api", "grpc", "-h", "0.0.0.0", "-p", "3030", "-m", "nexus_assets.production"]
