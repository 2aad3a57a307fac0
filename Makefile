# The two commands that matter: `make demo` (a real video from a prompt) and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PROMPT ?= A 30-second explainer on black holes, cinematic music
DEMO_ARGS ?= --duration 30 --resolution 720p --quality HD --music cinematic

.PHONY: setup demo test lint ui bench services-stop

setup:
	./scripts/bootstrap.sh

demo: setup
	$(VENV)/bin/nexus generate "$(PROMPT)" $(DEMO_ARGS)

test:
	EXTRAS=dev ./scripts/bootstrap.sh
	./scripts/test-extras.sh
	./scripts/services.sh start postgres
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy nexus_core api nexus_cli
	$(PY) -m pytest -q -p no:warnings

ui: setup
	$(VENV)/bin/nexus ui

bench: setup
	$(PY) bench/render.py

services-stop:
	./scripts/services.sh stop all

.PHONY: bench-api
bench-api:
	EXTRAS=dev ./scripts/bootstrap.sh  # the same install as `make test` (api is part of dev)
	$(PY) bench/api.py

.PHONY: image test-distributed
image:  # the container image (Dockerfile), built here with buildah: docs/deployment.md
	./scripts/build-image.sh

test-distributed: image  # each step of one video in its own container from the image
	EXTRAS=dev ./scripts/bootstrap.sh
	NEXUS_TEST_DISTRIBUTED=1 $(PY) -m pytest -q -p no:warnings tests/distributed

# The whole local stack in one command: installs the api, cloud and k8s extras and the local Kafka broker
# (pyproject's `stack` extra), then `nexus up` (broker, Dagster UI + daemon, API). UP_ARGS="--api-port 8001".
.PHONY: up
up:
	EXTRAS=stack ./scripts/bootstrap.sh
	$(VENV)/bin/nexus up $(UP_ARGS)
