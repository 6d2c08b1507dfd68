# The two set-up commands (README): `make run` and `make test`. Everything lands in .venv.
VENV   := .venv
PY     := $(VENV)/bin/python

.PHONY: run test lint bench install dev clean

## Install what the app needs and open it on the bundled default model.
run: install
	$(PY) -m purpose_desktop

## Install what the tests need and run lint, the import contract and the whole test suite.
test: dev
	$(VENV)/bin/ruff check purpose_desktop tests bench
	$(VENV)/bin/lint-imports
	QT_QPA_PLATFORM=offscreen HF_HUB_OFFLINE=1 $(PY) -m pytest -q

install:
	@scripts/setup.sh app

dev:
	@scripts/setup.sh dev

## Benchmarks print JSON; they are measurements, not tests.
bench: dev
	QT_QPA_PLATFORM=offscreen $(PY) bench/stream_overhead.py
	QT_QPA_PLATFORM=offscreen $(PY) bench/ui_stall.py

clean:
	rm -rf build dist .pytest_cache .ruff_cache
