# Verbs only; the work lives in scripts/ and the obsbox package.
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.obsbox-setup

.PHONY: setup demo demo-down test lint unit bench e2e docs generate check-generated clean

setup: $(STAMP)
	$(BIN)/obsbox binaries build

$(STAMP): scripts/setup.sh pyproject.toml instrumentation/pyproject.toml
	bash scripts/setup.sh
	touch $(STAMP)

## demo: boot a throwaway systemd host, deploy the stack, inject an incident, replay the corpus
demo: setup
	bash scripts/demo.sh

## demo-down: stop the demo host and remove everything the demo made
demo-down: setup
	bash scripts/demo.sh down

## test: every tier that can run here (0 lint+types, 1 unit, 2 local processes, 3 validators incl. the docs site, 4 hosts)
test: setup lint check-generated
	$(BIN)/pytest

lint: setup
	$(BIN)/ruff check src instrumentation/src tests instrumentation/tests examples benchmarks deploy dashboards
	$(BIN)/mypy

unit: setup
	$(BIN)/pytest -m tier1

e2e: setup
	$(BIN)/pytest -m tier4

bench: setup
	$(BIN)/python -m benchmarks

# Every checked-in file that code writes, and the command that writes it (docs/development.md).
GENERATORS := "dashboards build" "rules render" "contract-doc" "corpus generate" "binaries sources"

## generate: rewrite every generated file (dashboards JSON, SLO rules, contract tables, generated corpus, collector Go sources)
generate: setup
	@for g in $(GENERATORS); do echo "obsbox $$g"; $(BIN)/obsbox $$g >/dev/null || exit 1; done

## check-generated: fail, naming each stale file, when a generated file is not what `make generate` writes
check-generated: setup
	@status=0; for g in $(GENERATORS); do $(BIN)/obsbox $$g --check || status=1; done; exit $$status

## docs: build the documentation site (docs/, mkdocs.yml) into site/; broken links fail it
docs: setup
	$(BIN)/mkdocs build --strict --site-dir site

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache site
