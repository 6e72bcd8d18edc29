# Identity Services — the two commands a newcomer needs: `make dev` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Reinstall whenever the pinned dependencies change.
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml clients/python/pyproject.toml | cksum | cut -d' ' -f1)
PYTEST_ARGS ?=
# tests/deploy validates the Traefik objects with Traefik's CRD schemas, from the npm registry.
CRDS   := tests/deploy/traefik-crds
CRDS_STAMP := $(CRDS)/node_modules/.installed-$(shell cksum $(CRDS)/package-lock.json | cut -d' ' -f1)

# The first target: a bare `make` prints this list too.
## make help: list these targets, from the Makefile's own `## make ...` comments
help:
	@sed -n -e 's/^## make /make /p' -e 's/^## /    /p' $(MAKEFILE_LIST)

.PHONY: help install dev test check chromium format bench bench-sync bench-import bench-audit bench-otp bench-auth bench-gateway bench-oidc bench-client clean stack stack-down

$(STAMP): pyproject.toml clients/python/pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required (set PYTHON=python3.11)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[test]'
	$(BIN)/python -m pip install -q --disable-pip-version-check -e './clients/python[fastapi]'
	@rm -f $(VENV)/.installed-* && touch $@

# Node.js from Debian when the machine has none (the schemas need no particular version).
$(CRDS_STAMP): $(CRDS)/package-lock.json
	@command -v npm >/dev/null || (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm)
	npm ci --prefix $(CRDS) --no-audit --no-fund --loglevel=error
	@touch $@

## make install: the .venv with every dependency (and the CRD schemas' npm packages), reinstalled when a pyproject.toml changes
install: $(STAMP) $(CRDS_STAMP)

## make dev: run every service in one process on SQLite + in-process Redis, port 8000
dev: $(STAMP)
	$(BIN)/python -m embedded --port 8000 --data-dir data

## make stack: the real topology on this host, no Docker: Traefik on 127.0.0.1:8080 (STACK_PORT)
## in front of one uvicorn per service (auth twice), the Celery worker and the audit consumer,
## against IDENTITY_DATABASE_URL / IDENTITY_REDIS_URL (default: local MariaDB and Redis).
## Logs and pids under run/; see README "Running the stack".
stack: $(STAMP)
	$(BIN)/python -m stack up

## make stack-down: stop everything make stack started
stack-down:
	$(BIN)/python -m stack down

## make check: lint, format check and type check
check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	MYPYPATH=bench $(BIN)/mypy bench
	cd clients/python && ../../$(BIN)/mypy --strict src examples

## make test: everything CI runs (needs MariaDB on 127.0.0.1:3306 and Redis on 127.0.0.1:6379)
test: check chromium $(CRDS_STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

## make chromium: the browser tests drive Debian's Chromium (never a downloaded build)
chromium:
	@test -x /usr/bin/chromium || (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium)

## make format: ruff's fixes and formatting, applied
format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## make bench: every benchmark under bench/, one after another, written to bench/RESULTS.md
## with the machine, versions and date (figures; never fails on timing)
bench: $(STAMP)
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python bench/results.py

## make bench-sync, bench-import, bench-audit, bench-otp, bench-auth, bench-gateway, bench-oidc, bench-client:
## one benchmark of make bench alone
bench-sync: $(STAMP)
	$(BIN)/python bench/bench_sync.py

bench-import: $(STAMP)
	$(BIN)/python bench/bench_import.py

bench-audit: $(STAMP)
	$(BIN)/python bench/bench_audit.py

bench-otp: $(STAMP)
	$(BIN)/python bench/bench_otp.py

# wrk drives the load; installed from Debian when missing.
bench-auth: $(STAMP)
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python bench/bench_auth.py

## make profile: py-spy profile of one auth worker under wrk (ENDPOINT=session, login, refresh, otp or otp-verify)
ENDPOINT ?= session
.PHONY: profile
profile: $(STAMP)
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	@test -x $(BIN)/py-spy || $(BIN)/python -m pip install -q --disable-pip-version-check -e '.[test,bench]'
	$(BIN)/python bench/profile_auth.py --endpoint $(ENDPOINT)

## make soak: 5 minutes of mixed traffic through Traefik on the whole stack (SOAK_MINUTES);
## fails on any 5xx or a missing audit event, reports memory per process
SOAK_MINUTES ?= 5
.PHONY: soak
soak: $(STAMP)
	$(BIN)/python bench/soak.py --minutes $(SOAK_MINUTES)

bench-gateway: $(STAMP)
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python bench/bench_gateway.py

## make clean: remove .venv, data/ (make dev's database) and the tools' caches
clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache

bench-oidc: $(STAMP)
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python bench/bench_oidc.py

bench-client: $(STAMP)
	$(BIN)/python bench/bench_client.py
