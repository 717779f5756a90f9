# The two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
CONFIG ?= config/monitor.toml
export MONITOR_CORPUS ?= $(abspath ../shared/corpus)

.PHONY: run test lint bench bench-classifier bench-stories bench-startup bench-steady bench-scale faults clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

## run: install and start the daemon with config/monitor.toml (SQLite in data/)
run: $(VENV)/.installed
	$(BIN)/monitor --config $(CONFIG) run

## test: install with dev extras, lint, type-check and run the whole suite (on SQLite, and
## again on PostgreSQL when MONITOR_TEST_DATABASE_URL names a server: see .ci/postgres.sh)
test: $(VENV)/.installed-dev lint
	MONITOR_TEST_DATABASE_URL= $(BIN)/pytest -q --durations=10
	@if [ -n "$$MONITOR_TEST_DATABASE_URL" ]; then \
	  echo "--- the suite again on PostgreSQL at $${MONITOR_TEST_DATABASE_URL##*@}"; \
	  $(BIN)/pytest -q --durations=10; \
	fi

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check monitor tests bench faults
	$(BIN)/ruff format --check monitor tests bench faults
	$(BIN)/mypy monitor

## bench: the performance table (floor, new articles, naive peer, re-poll, classifier, memory,
## story assignment, command start-up, steady state from outside and alert latency); writes
## bench/results.json. About 6 minutes on 2 cores.
bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench

## bench-startup: only the start-up times of --help, status and a one-page poll --once
bench-startup: $(VENV)/.installed-dev
	$(BIN)/python -m bench.startup

## bench-steady: only the outside-in steady state (a running daemon) and the alert latency
bench-steady: $(VENV)/.installed-dev
	$(BIN)/python -m bench.steady

## bench-stories: only the cost of story assignment with 100,000 stored articles
bench-stories: $(VENV)/.installed-dev
	$(BIN)/python -m bench.stories

## faults: the fault suite at full size (hostile input, fuzzing, kill -9 crashes, outages,
## load); prints a table of cases and figures, writes faults/results.json. CI runs the reduced
## size through tests/test_faults.py on SQLite and PostgreSQL.
faults: $(VENV)/.installed-dev
	$(BIN)/python -m faults

## bench-scale: 181 new articles stored by 1 and by 2 `monitor worker` processes (one
## extraction process each) on PostgreSQL (MONITOR_TEST_DATABASE_URL); prints the speed-up
bench-scale: $(VENV)/.installed-dev
	$(BIN)/python -m bench.scale

## bench-classifier: scoring speed, build/load time and memory of the classifier
bench-classifier: $(VENV)/.installed-dev
	$(BIN)/python -m bench.classifier

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
