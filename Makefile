# Two commands do everything on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
CFA := $(BIN)/cfa
INSTALLED := $(VENV)/.installed
MANIFEST := dbt_project/target/manifest.json

SAMPLE_DIR := data/sample
LANDING_DIR := data/landing
WAREHOUSE := data/warehouse/cfa.duckdb

export PATH := $(CURDIR)/$(BIN):$(PATH)
# The project's Dagster instance (dagster.yaml), its storage git-ignored in .dagster/.
export DAGSTER_HOME := $(CURDIR)
export CFA_DAGSTER_STORAGE := $(CURDIR)/.dagster/storage
export CFA_DAGSTER_COMPUTE_LOGS := $(CURDIR)/.dagster/compute_logs
export CFA_LANDING_DIR ?= $(CURDIR)/$(LANDING_DIR)
export CFA_WAREHOUSE ?= $(CURDIR)/$(WAREHOUSE)
# Synthetic data only: a council sets its own key. In production there is no default at all,
# so `cfa` refuses to run until the council's key is set (it refuses this one too).
DEVELOPMENT_KEY := cfa-development-key-synthetic-data-only
ifneq ($(CFA_ENV),production)
export CFA_PSEUDONYMISATION_KEY ?= $(DEVELOPMENT_KEY)
endif
export GX_ANALYTICS_ENABLED := False
export DBT_SEND_ANONYMOUS_USAGE_STATS := False

.PHONY: run test dev docs contract prepare install clean bench settings postgres test-system-packages

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(INSTALLED)

$(MANIFEST): $(INSTALLED) $(shell find dbt_project/models dbt_project/macros dbt_project/tests seeds -type f 2>/dev/null) dbt_project/dbt_project.yml
	$(CFA) prepare

prepare: $(MANIFEST)

run: $(MANIFEST)
	@$(if $(filter $(DEVELOPMENT_KEY),$(CFA_PSEUDONYMISATION_KEY)),echo "Pseudonymising with the development key: fit for the synthetic sample only.",true)
	@test -d $(SAMPLE_DIR) || $(CFA) sample $(SAMPLE_DIR)
	@mkdir -p $(LANDING_DIR) && cp $(SAMPLE_DIR)/* $(LANDING_DIR)/
	$(CFA) run --landing $(LANDING_DIR) --warehouse $(WAREHOUSE)

test: $(MANIFEST) test-system-packages postgres
	$(BIN)/python -m pytest

# The report's tests render it in headless Chromium (Debian's package) and print it to PDF with
# WeasyPrint (Pango): installed here when missing, without prompting (CI has no stdin); apt's
# output is shown only if it fails.
test-system-packages:
	@missing="$$(command -v chromium >/dev/null || echo chromium) $$(ldconfig -p | grep -q libpangoft2-1.0 || echo libpangoft2-1.0-0)"; \
	if [ -n "$${missing// }" ]; then \
		echo "Installing from Debian for the report's tests:$$missing"; \
		sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); log=$$(mktemp); \
		{ $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing fonts-dejavu-core; } </dev/null >$$log 2>&1 \
			|| { cat $$log; rm -f $$log; exit 1; }; \
		rm -f $$log; \
	fi

# The PostgreSQL tests (tests/test_postgres.py) and `make bench` start a throwaway server from
# Debian's postgresql package: install it when missing (as root, no questions asked).
postgres:
	@if ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then \
		true; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "Installing Debian's postgresql: the PostgreSQL tests start a throwaway server from it."; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq </dev/null && apt-get install -y -qq --no-install-recommends postgresql </dev/null; \
	else \
		echo "PostgreSQL's server is not installed and this is not root: run 'sudo apt-get install postgresql'." >&2; \
		exit 1; \
	fi

# Never part of `make test`: minutes of national-scale runs, written to BENCHMARKS.md.
# Scale with BENCH_COUNCILS and BENCH_YEARS (the issue's target: 153 and 5).
bench: $(MANIFEST) postgres
	$(BIN)/python bench/run_bench.py

dev: $(MANIFEST)
	$(BIN)/dagster dev -m orchestration.definitions

docs: $(MANIFEST)
	cd dbt_project && CFA_BUILD_DATABASE=$(CURDIR)/data/warehouse/.build/cfa.duckdb ../$(BIN)/dbt docs generate --profiles-dir .
	@echo "dbt docs: dbt_project/target/index.html (serve with: cd dbt_project && ../$(BIN)/dbt docs serve --profiles-dir .)"

contract: $(INSTALLED)
	$(CFA) contract

# What `make` passes to cfa; the key itself is never printed.
settings:
	@echo "CFA_ENV=$(CFA_ENV)"
	@echo "CFA_LANDING_DIR=$(CFA_LANDING_DIR)"
	@echo "CFA_WAREHOUSE=$(CFA_WAREHOUSE)"
	@echo "CFA_TARGET=$(if $(CFA_TARGET),$(CFA_TARGET),duckdb)$(if $(filter postgres,$(CFA_TARGET)), (PostgreSQL: $(PGUSER)@$(PGHOST):$(PGPORT)/$(PGDATABASE)),)"
	@echo "CFA_PSEUDONYMISATION_KEY=$(if $(CFA_PSEUDONYMISATION_KEY),$(if $(filter $(DEVELOPMENT_KEY),$(CFA_PSEUDONYMISATION_KEY)),(the development key),(set)),(not set))"

clean:
	rm -rf data .dagster dbt_project/target dbt_project/logs
