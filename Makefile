# The two set-up commands (README): `make run` and `make test`. Everything lands in .venv.
VENV   := .venv
PY     := $(VENV)/bin/python

.PHONY: run test lint bench install dev clean dist dist-selftest install-desktop uninstall-desktop lock check-latest

## Install what the app needs and open it on the bundled default model.
run: install
	$(PY) -m purpose_desktop

## Install what the tests need and run lint, the import contract and the whole test suite.
test: dev
	$(VENV)/bin/ruff check purpose_desktop tests bench
	$(VENV)/bin/lint-imports
	QT_QPA_PLATFORM=offscreen HF_HUB_OFFLINE=1 $(PY) -m pytest -q

# GPU=cuda|vulkan|metal (environment) builds llama.cpp for that GPU; unset keeps the CPU build (README).
install:
	@scripts/setup.sh app

dev:
	@scripts/setup.sh dev

## Benchmarks print JSON; they are measurements, not tests.
bench: dev
	QT_QPA_PLATFORM=offscreen $(PY) bench/stream_overhead.py
	QT_QPA_PLATFORM=offscreen $(PY) bench/ui_stall.py

## The double-click app: dist/PurposeDesktop/ (PyInstaller onedir with the default model and embedder).
DIST_APP    := dist/PurposeDesktop/PurposeDesktop
DIST_INPUTS := build.spec pyproject.toml requirements/lock.txt $(shell find purpose_desktop packaging resources -type f \
                 -not -name '*.pyc' 2>/dev/null) scripts/install-desktop.sh scripts/uninstall-desktop.sh

dist: | install
	@packaging/build.sh

# Rebuilt only when something it is made of changed (CI: a fresh clone builds once).
$(DIST_APP): $(DIST_INPUTS) | install
	@packaging/build.sh
	@touch $@

## The frozen app checks itself headless (model, database, embedder, sandbox) and prints JSON.
dist-selftest: $(DIST_APP)
	env -u DISPLAY -u WAYLAND_DISPLAY QT_QPA_PLATFORM=offscreen $(DIST_APP) --self-test

## The dependency lock (requirements/lock.txt pins every install). Update it on purpose: `make lock`
## resolves the newest versions pyproject.toml allows, then `make test dist-selftest` tests the result.
lock:
	@scripts/lock.sh lock

## Not in CI's required path: build the frozen app from the newest allowed versions and self-test it,
## so the next upstream break is found here before a person's double-click finds it.
check-latest:
	@scripts/lock.sh check

## Menu entry and icons for this user (no root); uninstall keeps your data unless PURGE=1.
install-desktop:
	@scripts/install-desktop.sh

uninstall-desktop:
	@scripts/uninstall-desktop.sh $(if $(PURGE),--purge)

clean:
	rm -rf build dist .pytest_cache .ruff_cache
