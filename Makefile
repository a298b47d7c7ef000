# Smart Community Suite — `make up` runs it, `make test` tests it. `make help` lists targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.DEFAULT_GOAL := help

.PHONY: help install vendor browser-tools up down status seed test test-reliability chaos conformance contracts definitions docs bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*## "}{printf "  make %-17s %s\n", $$1, $$2}'

$(BIN)/suite: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade 'pip>=23'
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

install: $(BIN)/suite vendor ## create .venv and install the project and its test tools

# The console's front-end libraries (Chart.js for the reports), from the npm registry at build
# time into gateway/static/vendor/ (ignored by git); never from a CDN. Without npm the report
# pages show their tables alone.
VENDOR_SRC := gateway/static/vendor-src
VENDORED := gateway/static/vendor/chart.umd.js

$(VENDORED): $(VENDOR_SRC)/package.json $(VENDOR_SRC)/package-lock.json
	@if command -v npm >/dev/null; then \
	  npm ci --prefix $(VENDOR_SRC) --no-audit --no-fund --loglevel=error && mkdir -p $(@D) && \
	  cp $(VENDOR_SRC)/node_modules/chart.js/dist/chart.umd.js $@ && \
	  cp $(VENDOR_SRC)/node_modules/chart.js/LICENSE.md $(@D)/LICENSE.chart.js.md; \
	else echo "npm not found: the console's reports will show tables without charts (Debian's package npm)"; fi

vendor: $(VENDORED) ## the console's front-end libraries from npm (Chart.js), into gateway/static/vendor/

up: install ## start everything on this machine (embedded store unless MONGO_URI), load demo data
	$(BIN)/suite up

down: ## stop what `make up` started; keep the data
	@if [ -x $(BIN)/suite ]; then $(BIN)/suite down; else echo "nothing installed, nothing to stop"; fi

status: install ## each process and its health
	$(BIN)/suite status

seed: install ## load the demo data again (adds nothing twice)
	$(BIN)/suite seed

BROWSER_TOOLS := tests/e2e/browser/node_modules/.package-lock.json

$(BROWSER_TOOLS): tests/e2e/browser/package.json tests/e2e/browser/package-lock.json
	@if command -v npm >/dev/null; then npm ci --prefix tests/e2e/browser --no-audit --no-fund --loglevel=error; \
	else echo "npm not found: the browser tests will skip (Debian's package npm)"; fi

browser-tools: $(BROWSER_TOOLS) ## install what the browser tests drive Chromium with (playwright-core, axe-core, from npm)

test: install browser-tools ## run the tests (needs RabbitMQ; starts it and its management API when installed here)
	$(BIN)/suite broker --management
	$(BIN)/python -m pytest

test-reliability: install ## long fault runs under load: kill -9 of every service, broker and store restarts; prints the figures
	$(BIN)/suite broker --management
	$(BIN)/python -m pytest tests/reliability -m reliability

chaos: install ## kiosk chaos: thousands of kiosk messages, hostile ones, kills and cut connections, checked by an oracle (CHAOS_EVENTS=3000)
	$(BIN)/suite broker --management
	$(BIN)/python -m pytest tests/reliability -m chaos -s

bench: install ## run the benchmarks (not part of `make test`; long): figures as ratios to a same-run baseline
	$(BIN)/suite broker --management
	$(BIN)/python -m bench.bench_staff_queue
	$(BIN)/python -m bench.bench_catalogue_search
	$(BIN)/python -m bench.bench_imports
	$(BIN)/python -m bench.bench_kiosk_ingest
	$(BIN)/python -m bench.bench_gateway
	$(BIN)/python -m bench.bench_wallet
	$(BIN)/python -m bench.bench_reports

conformance: install ## the ADL LRS conformance suite against /xapi/ (LRS_CONFORMANCE_DIR=<its checkout>, XAPI_VERSION=1.0.3|2.0.0; not part of `make test`)
	$(BIN)/suite broker --management
	$(BIN)/python -m bench.xapi_conformance

contracts: install ## regenerate contracts/asyncapi.json from the models
	$(BIN)/python -m contracts.asyncapi

docs: install ## regenerate the generated parts of docs/ARCHITECTURE.md (the events between services, the rooms)
	$(BIN)/python -m infra.architecture_doc

definitions: install ## regenerate infra/rabbitmq/definitions.json (the broker topology compose loads)
	$(BIN)/suite topology definitions --user guest:guest > infra/rabbitmq/definitions.json

clean: down ## stop, and remove the virtualenv and all local data (var/)
	rm -rf $(VENV) var
