# streamtap — `make run` serves the dashboard and taps the demo agent; `make test-all` runs every
# test, `make test` the fast loop (tests marked slow left out; CI runs them).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run serve test test-all test-pg lint format bench setup setup-dev browser agents clean

run: setup ## Serve http://127.0.0.1:8000 (SQLite; `make run PORT=8001` for another port) and tap the demo agent
	$(BIN)/python manage.py serve --demo $(if $(PORT),--port $(PORT))

serve: setup ## Serve the dashboard only
	$(BIN)/python manage.py serve

# Tests run in TEST_WORKERS processes (pytest-xdist), a file per process at a time so a module's
# server starts once. Most tests wait on child processes, servers and browsers: on 2 cores the
# whole suite takes 12 min with 3 workers against 22 serially. `make test TEST_WORKERS=0` runs
# in this process (a debugger, -x).
TEST_WORKERS ?= 3
PYTEST := $(BIN)/pytest $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile)

# The ten slowest tests are listed after each run: one that grows past ~3 s belongs in
# tests/conftest.py's SLOW_TESTS, so that this loop stays a few minutes long.
test: setup-dev ## The fast loop on SQLite: every test not marked slow (servers, browsers, agents)
	$(PYTEST) -m "not slow" --durations=10

# Tests marked `alone` (50 taps at once: they need the database's connections and the cores to
# themselves) run after the others, in one process.
test-all: setup-dev browser agents ## The whole test suite on the SQLite default (what CI runs)
	$(PYTEST) -m "not alone"
	$(BIN)/pytest -m alone

# The tests that reach the run's database or live bus (marked `database` in tests/conftest.py);
# the others read neither and ran in test-all.
PG_ENV := DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/streamtap} \
	STREAMTAP_REDIS_URL=$${STREAMTAP_REDIS_URL:-redis://127.0.0.1:6379/0}
test-pg: setup-dev browser agents ## The database and live-bus tests again on PostgreSQL + Redis (127.0.0.1)
	$(PG_ENV) $(PYTEST) -m "database and not alone"
	$(PG_ENV) $(BIN)/pytest -m "database and alone"

lint: setup-dev ## ruff lint and format check
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: setup-dev
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

bench: setup-dev ## Run every benchmark and rewrite docs/benchmarks.md
	$(BIN)/python bench/run_all.py

setup: $(VENV)/.installed

setup-dev: $(VENV)/.installed-dev

# pip shows what it fetches and installs (about a minute the first time); each step says so.
$(VENV)/.installed: requirements.txt pyproject.toml
	@echo "== [1/3] virtualenv $(VENV)"
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	@echo "== [2/3] requirements.txt"
	$(BIN)/pip install -r requirements.txt
	@echo "== [3/3] the streamtap command ($(BIN)/streamtap, editable: it runs this checkout)"
	$(BIN)/pip install --no-deps -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	@echo "== test and lint tools (requirements-dev.txt)"
	$(BIN)/pip install -r requirements-dev.txt
	touch $@

# The real agent CLIs that tests/agents drives against a mock model, pinned and side by side:
# Claude Code (two versions) and Codex from npm, aider from PyPI in a venv of its own.
agents:
	tests/agents/install_clis.sh

# Browser tests drive Debian's Chromium (no browser downloads are possible or wanted).
browser:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core; \
	  else echo "Install Debian's chromium (sudo apt-get install chromium) for the browser tests"; exit 1; fi; }

clean:
	rm -rf $(VENV) .pytest_cache streamtap.egg-info
