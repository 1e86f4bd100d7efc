# Two commands for a newcomer: `make run` and `make test`. Everything else is a helper.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
EDITABLE := $(VENV)/.editable
export AIRFLOW_HOME ?= $(CURDIR)/.airflow

.PHONY: install system-deps run dist test lint dupes unit bench soak browser-stress clean

# The venv is rebuilt only when the pins change; the constraints file makes every
# install resolve to the versions CI ran with.
$(STAMP): requirements.txt requirements-dev.txt constraints.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt -c constraints.txt
	@touch $(STAMP)

install: $(STAMP)

system-deps:
	@bash scripts/system-deps.sh

# `make run` uses the project as an installed distribution, editable: Airflow finds the
# connection types and the Accounting Sync pages through the package's entry points,
# exactly as in a deployment that installed the wheel, while code changes apply at once.
$(EDITABLE): $(STAMP) pyproject.toml
	$(PY) -m pip install --quiet --no-deps --editable .
	@touch $(EDITABLE)

run: $(EDITABLE)
	$(PY) scripts/run_local.py

# The wheel and sdist a deployment installs (what the Docker image builds, too).
dist: install
	$(PY) -m build --outdir dist .

lint: install dupes
	$(VENV)/bin/ruff check dags plugins sandbox tests bench scripts
	$(VENV)/bin/mypy

# No logic copied inside the package: pylint's duplicate-code check only (settings in
# pyproject.toml). A copy is removed, never allowed for by a higher threshold.
dupes: install
	$(VENV)/bin/pylint --disable=all --enable=duplicate-code --score=n plugins/accounting_sync

test: install system-deps lint
	$(PY) -m pytest

unit: install
	$(PY) -m pytest tests/unit

bench: install
	$(PY) -m bench.run_all

soak: install system-deps
	SOAK_SCALE=full $(PY) -m pytest tests/e2e/test_soak.py -s

# The browser test BROWSER_STRESS_RUNS times in a row, each with every core kept busy
# (BROWSER_STRESS=1): proves it does not depend on a quiet machine. Not part of `make test`.
BROWSER_STRESS_RUNS ?= 5
browser-stress: install system-deps
	@for run in $$(seq $(BROWSER_STRESS_RUNS)); do \
	  echo "browser-stress: run $$run of $(BROWSER_STRESS_RUNS)"; \
	  BROWSER_STRESS=1 $(PY) -m pytest tests/e2e/test_browser.py -q -p no:cacheprovider || exit 1; \
	done; echo "browser-stress: $(BROWSER_STRESS_RUNS) of $(BROWSER_STRESS_RUNS) runs passed"

clean:
	rm -rf $(AIRFLOW_HOME) .pytest_cache .mypy_cache .ruff_cache dist
