# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
MO_FILES := $(patsubst %.po,%.mo,$(wildcard locale/*/LC_MESSAGES/*.po))

export HOST ?= 127.0.0.1
export PORT ?= 8000

.PHONY: release rollback-compose run test install messages lint format bench bench-reconciliation bench-scale drill fault-drill clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (found %s)" % sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

# Compiled with Babel (pure Python), so no system gettext is needed.
locale/%.mo: locale/%.po $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -i $< -o $@

messages: $(MO_FILES)

install: $(STAMP) messages

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py demo_data
	@echo "MES is starting on http://$(HOST):$(PORT)/ (Ctrl-C stops web, worker, beat and the fake ERP and WMS)"
	@$(BIN)/python -m mes.runner Procfile

test: install
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/lint-imports
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Release on the compose stack (docs/releases.md): build mes:<version>-<commit>, stop
# web, worker and beat, then pre-flight, snapshot (and a pg_dump file), migrate and smoke
# check with the new image, and start it. A failed step leaves the old image's tag in place.
MES_VERSION = $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml | head -1)
MES_COMMIT ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
release:
	MES_COMMIT=$(MES_COMMIT) MES_IMAGE_TAG=$(MES_VERSION)-$(MES_COMMIT) docker compose build
	docker compose stop web worker beat
	MES_IMAGE_TAG=$(MES_VERSION)-$(MES_COMMIT) docker compose run --rm migrate python manage.py release --no-worker-check --dump --actor "$${USER:-it}"
	MES_IMAGE_TAG=$(MES_VERSION)-$(MES_COMMIT) docker compose up -d

# Undo the last release on the compose stack (RELEASE=<id> for another one), from the
# checkout of the release being undone: its image restores the snapshot, the previous
# tag is started.
rollback-compose:
	docker compose stop web worker beat
	MES_IMAGE_TAG=$(MES_VERSION)-$(MES_COMMIT) docker compose run --rm migrate python manage.py rollback $(RELEASE) --code none
	@tag=$$(MES_IMAGE_TAG=$(MES_VERSION)-$(MES_COMMIT) docker compose run --rm -T migrate python manage.py shell -c "from releases.selectors import release_last; print(release_last().version)" | tail -1); \
	  echo "starting mes:$$tag"; MES_IMAGE_TAG=$$tag docker compose up -d

# Stock-movement API benchmark (gunicorn + PostgreSQL; not part of `make test`).
# Needs PostgreSQL on 127.0.0.1:5432; see docs/benchmarks.md. BENCH_ARGS=--quick for a short run.
bench: install
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev,bench]'
	$(BIN)/python -m tests.bench.bench_movements $(BENCH_ARGS)
	$(BIN)/python -m tests.bench.bench_request_cpu $(CPU_BENCH_ARGS)
	$(BIN)/python -m tests.bench.bench_reconciliation $(RECON_BENCH_ARGS)
	$(BIN)/python -m tests.bench.bench_simulation $(SIM_BENCH_ARGS)
	$(BIN)/python -m tests.bench.bench_planning $(PLAN_BENCH_ARGS)
	$(BIN)/python -m tests.bench.bench_brokers $(BROKER_BENCH_ARGS)
	$(BIN)/python -m tests.bench.bench_releases $(RELEASE_BENCH_ARGS)
	$(BIN)/python -m tests.bench.bench_alerting $(ALERT_BENCH_ARGS)

# Reconciliation benchmark: a 1M-row CSV snapshot against 1M balances on PostgreSQL
# (127.0.0.1:5432; not part of `make test`). RECON_BENCH_ARGS="--rows 100000" for a short run.
bench-reconciliation: install
	$(BIN)/python -m tests.bench.bench_reconciliation $(RECON_BENCH_ARGS)

# Plant-scale pages: two years of a mid-size plant (manage.py seed_plant) built once into
# PostgreSQL mes_scale (127.0.0.1:5432), then every planner page, the floor queue, the main
# list APIs and the reports timed through gunicorn (not part of `make test`; see
# docs/benchmarks.md). SCALE_BENCH_ARGS="--reuse" keeps a database built with the same arguments.
bench-scale: install
	$(BIN)/python -m tests.bench.bench_scale $(SCALE_BENCH_ARGS)

# Load drill: 200 users for 120 s against gunicorn + worker on PostgreSQL and Redis db 7
# (not part of `make test`); see docs/benchmarks.md. DRILL_ARGS overrides, e.g. --duration 60.
drill: install
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev,drill]'
	$(BIN)/python manage.py drill --users 200 --duration 120 $(DRILL_ARGS)

# Fault drill: its own PostgreSQL cluster, Redis, gunicorn, worker, beat and fake ERP under a
# light load; each stopped and restarted in turn (not part of `make test`; about 2 minutes).
# See docs/fault-drill.md. FAULT_DRILL_ARGS=--quick for a short run.
fault-drill: install
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev,drill]'
	$(BIN)/python manage.py fault_drill $(FAULT_DRILL_ARGS)

clean:
	rm -rf $(VENV) var staticfiles $(MO_FILES)
