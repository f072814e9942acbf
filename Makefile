# Every target bootstraps .venv from nothing but python3, idempotently.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_TEST := $(VENV)/.installed-test

.PHONY: demo run test e2e bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(STAMP_TEST): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(STAMP_RUN)

## make demo: install, then run the gateway with the embedded mock provider.
demo: $(STAMP_RUN)
	$(BIN)/aigw-console --demo

## make test: install with test extras, then run the whole suite.
test: $(STAMP_TEST)
	$(BIN)/python -m pytest -q

## make e2e: only the end-to-end tests (aigw-console driven in tmux; skipped where tmux is absent).
e2e: $(STAMP_TEST)
	$(BIN)/python -m pytest -q tests/e2e

## make bench: install, then run the benchmark suite (not part of the tests).
bench: $(STAMP_TEST)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build *.egg-info
