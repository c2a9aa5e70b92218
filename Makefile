# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench clean screenshots sysdeps

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/aiexport demo
	@echo "Web and API: aiexport users init admin --password, then aiexport serve (http://127.0.0.1:8000/, API docs at /docs)."

# PNGs of the main web pages under docs/img/ (the browser tests, driving Debian's chromium).
screenshots: $(STAMP)
	bash scripts/install-browser.sh
	AIEXPORT_SCREENSHOTS=1 $(PY) -m pytest -q tests/web

# The ledger tests run on PostgreSQL too: AIEXPORT_TEST_POSTGRES_URL if set (as .ci/run does),
# else the loopback server scripts/ci-postgres.sh starts (needs root and apt). When neither
# works, the run says at the end that the PostgreSQL tests were skipped.
# System packages the suite needs (Pango + poppler for the PDF reports, Debian chromium for the
# browser tests): installed by the project's own idempotent scripts, so `make test` works on a
# fresh machine as well as under .ci/run.
sysdeps:
	bash scripts/install-report-deps.sh
	bash scripts/install-browser.sh

test: $(STAMP) sysdeps
	$(VENV)/bin/ruff check src tests bench
	@url="$${AIEXPORT_TEST_POSTGRES_URL:-$$(bash scripts/ci-postgres.sh 2>/dev/null || true)}"; \
	AIEXPORT_TEST_POSTGRES_URL="$$url" $(PY) -m pytest -q; rc=$$?; \
	if [ -z "$$url" ]; then \
	  echo "NOTE: the PostgreSQL ledger tests were SKIPPED: no AIEXPORT_TEST_POSTGRES_URL and scripts/ci-postgres.sh could not start a server (it needs root and apt). Only SQLite was tested." >&2; \
	else echo "PostgreSQL ledger tests ran against $${url##*@} (SQLite too)."; fi; \
	exit $$rc

bench: $(STAMP)  # the ledger figures include PostgreSQL when scripts/ci-postgres.sh can start it
	AIEXPORT_TEST_POSTGRES_URL="$$(bash scripts/ci-postgres.sh 2>/dev/null || true)" $(PY) bench/run.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache
