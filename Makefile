# Thin wrappers; the logic lives in Python. `make run` and `make test` are the README's two set-up commands.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
INSTALLED := $(VENV)/.installed
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test
PYTEST := $(BIN)/python -m pytest
# Where `make run` serves; tests/foundation/test_make_run.py moves it to a free port.
RUN_ADDRESS ?= 127.0.0.1:8000

.PHONY: install run test lint format lock

# The virtualenv, with uv bootstrapped into it, installs exactly what uv.lock pins (via requirements/dev.txt).
# An existing venv is kept: `venv` over it with another python3 (pyenv's 3.12 vs the venv's 3.11) rewrites
# pyvenv.cfg to name an interpreter the venv's packages were not installed for.
$(INSTALLED): requirements/dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements/dev.txt
	touch $@

install: $(INSTALLED)

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py runserver $(RUN_ADDRESS)

# Two passes: every tier but postgres on SQLite, then the postgres tier against TEST_DATABASE_URL. The first
# pass drops TEST_DATABASE_URL: `make test TEST_DATABASE_URL=…` exports it, and test settings would pick it up.
test: install
	env -u TEST_DATABASE_URL $(PYTEST) -m "not postgres" $(PYTEST_ARGS)
	TEST_DATABASE_URL=$(TEST_DATABASE_URL) $(PYTEST) -m postgres $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# BENCHMARKS: every bench/bench_*.py, each in its own process. `bench` rewrites BENCHMARKS.md and
# bench/benchmarks.png (under 15 minutes on 2 cores); `bench-quick` (CI) runs small sizes into bench/.work/quick/
# and fails when a benchmark errors, not when a goal is missed. BENCH_ARGS: e.g. --only cold_start, --profile NAME.
.PHONY: bench bench-quick
bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)

bench-quick: install
	$(BIN)/python -m bench --quick $(BENCH_ARGS)

# POSTGRESQL. migrate-check: the pre-deploy migration steps (showmigrations, migrate --plan, makemigrations --check)
# and the migration linter, against the database the environment names. backup/restore: pg_dump -Fc / pg_restore,
# over DATABASE_DIRECT_URL when set; `make restore BACKUP=backups/folio-....dump`.
.PHONY: migrate-check backup restore
migrate-check: install
	$(BIN)/python manage.py migrate_check

backup: install
	$(BIN)/python manage.py db_backup $(BACKUP)

restore: install
	$(BIN)/python manage.py db_restore $(BACKUP)

# After editing pyproject.toml: re-pin, then re-export the requirements files pip, Docker and Vercel read.
lock: install
	$(BIN)/uv lock
	$(BIN)/uv export --frozen --no-dev --no-emit-project --quiet -o requirements/production.txt
	$(BIN)/uv export --frozen --no-emit-project --quiet -o requirements/dev.txt

.PHONY: render
# The committed deploy/nginx/example/ and deploy/systemd/example/, re-rendered from their templates (a test
# fails when they are stale). On a server: `manage.py render_deploy nginx|systemd` (README, "Deploy to a VM").
render: install
	$(BIN)/python manage.py render_deploy examples

# DOCKER: a release of docker-compose.production.yml, one web replica at a time (deploy/docker/release.sh says how).
.PHONY: docker-release
docker-release:
	bash deploy/docker/release.sh $(IMAGE)
