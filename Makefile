# streamtap — `make run` serves the dashboard and taps the demo agent; `make test` runs everything.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run serve test test-pg lint format bench setup setup-dev browser agents clean

run: setup ## Serve http://127.0.0.1:8000 (SQLite; `make run PORT=8001` for another port) and tap the demo agent
	$(BIN)/python manage.py serve --demo $(if $(PORT),--port $(PORT))

serve: setup ## Serve the dashboard only
	$(BIN)/python manage.py serve

test: setup-dev browser agents ## The whole test suite on the SQLite default
	$(BIN)/pytest

test-pg: setup-dev browser agents ## The whole suite on PostgreSQL + Redis (both on 127.0.0.1)
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/streamtap} \
	STREAMTAP_REDIS_URL=$${STREAMTAP_REDIS_URL:-redis://127.0.0.1:6379/0} $(BIN)/pytest

lint: setup-dev ## ruff lint and format check
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: setup-dev
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

bench: setup-dev ## Run every benchmark and rewrite docs/benchmarks.md
	$(BIN)/python bench/run_all.py

setup: $(VENV)/.installed

setup-dev: $(VENV)/.installed-dev

$(VENV)/.installed: requirements.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(BIN)/pip install -q -r requirements-dev.txt
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
	rm -rf $(VENV) .pytest_cache
