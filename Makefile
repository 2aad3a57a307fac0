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
