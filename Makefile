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

.PHONY: install run test lint format lock vercel-cli

# The virtualenv, with uv bootstrapped into it, installs exactly what uv.lock pins (via requirements/dev.txt).
# An existing venv is kept: `venv` over it with another python3 (pyenv's 3.12 vs the venv's 3.11) rewrites
# pyvenv.cfg to name an interpreter the venv's packages were not installed for.
$(INSTALLED): requirements/dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements/dev.txt
	touch $@

install: $(INSTALLED)

# Vercel's CLI for the tests that run `vercel build` (harness/vercel_build.py): pinned by its own package-lock,
# never part of the site. `npm install`, not `npm ci`: the lock names the CLI's native helpers for every platform
# and the registry here has only linux-x64's at this version, which `npm ci` refuses; install keeps the lock as is.
VERCEL_CLI := harness/vercel_cli
$(VERCEL_CLI)/node_modules/.installed: $(VERCEL_CLI)/package.json $(VERCEL_CLI)/package-lock.json
	npm install --prefix $(VERCEL_CLI) --no-audit --no-fund --loglevel=error
	touch $@

vercel-cli: $(VERCEL_CLI)/node_modules/.installed

# checkov for tests/kubernetes, in a virtualenv of its own: its large dependency tree would fight the dev lock's.
# Pinned with hashes in requirements/checkov.txt (`make checkov-lock` recompiles it from checkov.in).
CHECKOV_VENV := .venv-checkov
$(CHECKOV_VENV)/.installed: requirements/checkov.txt $(INSTALLED)
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(BIN)/uv pip install --quiet --python $(CHECKOV_VENV)/bin/python --require-hashes -r requirements/checkov.txt
	touch $@

.PHONY: kubernetes-tools checkov-lock
kubernetes-tools: $(CHECKOV_VENV)/.installed

checkov-lock: install
	$(BIN)/uv pip compile requirements/checkov.in --universal --generate-hashes --quiet -o requirements/checkov.txt

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py runserver $(RUN_ADDRESS)

# Two passes: every tier but postgres on SQLite, then the postgres tier against TEST_DATABASE_URL. The first
# pass drops TEST_DATABASE_URL: `make test TEST_DATABASE_URL=…` exports it, and test settings would pick it up.
test: install vercel-cli kubernetes-tools
	env -u TEST_DATABASE_URL $(PYTEST) -m "not postgres" $(PYTEST_ARGS)
	TEST_DATABASE_URL=$(TEST_DATABASE_URL) $(PYTEST) -m postgres $(PYTEST_ARGS)

# The services and browser tiers under a CPU and disk load from stress-ng (.ci/under-load): a test that fails here
# would fail at random on a busy CI machine. `make test-under-load RUNS=5`.
.PHONY: test-under-load
RUNS ?= 1
test-under-load: install vercel-cli kubernetes-tools
	RUNS=$(RUNS) PYTEST="$(PYTEST)" TEST_DATABASE_URL=$(TEST_DATABASE_URL) PYTEST_ARGS="$(PYTEST_ARGS)" bash .ci/under-load

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Rehearse a deploy from PREVIOUS (a tag or commit) to the working tree (README "Rehearse a deploy");
# REHEARSE_ARGS adds options, e.g. --rows 100000 --json. Needs DATABASE_URL's PostgreSQL server.
.PHONY: rehearse
rehearse: install
	@test -n "$(PREVIOUS)" || { echo "make rehearse PREVIOUS=<git ref of the release serving now>"; exit 2; }
	$(BIN)/python manage.py rehearse --previous "$(PREVIOUS)" $(REHEARSE_ARGS)

# BENCHMARKS: every bench/bench_*.py, each in its own process. `bench` rewrites BENCHMARKS.md and
# bench/benchmarks.png (under 15 minutes on 2 cores); `bench-quick` (CI) runs small sizes into bench/.work/quick/
# and fails when a benchmark errors, not when a goal is missed. BENCH_ARGS: e.g. --only cold_start, --profile NAME.
.PHONY: bench bench-quick
bench: install vercel-cli
	$(BIN)/python -m bench $(BENCH_ARGS)

bench-quick: install vercel-cli
	$(BIN)/python -m bench --quick $(BENCH_ARGS)

# POSTGRESQL. migrate-check: the pre-deploy migration steps (showmigrations, migrate --plan, makemigrations --check)
# and the migration linter, against the database the environment names. backup/restore: pg_dump -Fc / pg_restore,
# over DATABASE_DIRECT_URL when set; `make restore BACKUP=backups/folio-....dump`.
.PHONY: migrate-check backup restore
migrate-check: install
	$(BIN)/python manage.py migrate_check

# backup/restore run on servers, so they install nothing: `install` would put the dev toolchain (Playwright, moto,
# hadolint) on a production host. APP_PYTHON: the dev venv's python when there is one (a developer's machine), else
# the VM's production venv (VM_VENV), else python3 (a container's, or one an operator activated).
APP_PYTHON ?= $(firstword $(wildcard $(BIN)/python $(VM_VENV)/bin/python) python3)
backup:
	$(APP_PYTHON) manage.py db_backup $(BACKUP)

restore:
	$(APP_PYTHON) manage.py db_restore $(BACKUP)

# After editing pyproject.toml: re-pin, then re-export the requirements files pip, Docker and Vercel read.
define export_requirements
	$(BIN)/uv export --frozen --no-dev --no-emit-project --quiet -o requirements/production.txt
	$(BIN)/uv export --frozen --no-emit-project --quiet -o requirements/dev.txt
endef

lock: install
	$(BIN)/uv lock
	$(export_requirements)

# CI and pre-commit: uv.lock matches pyproject.toml and requirements/*.txt match the lock (re-exported in place,
# so a stale file is fixed as well as reported; commit the result).
.PHONY: lock-check
lock-check: install
	$(BIN)/uv lock --check
	$(export_requirements)
	@git diff --quiet -- requirements/ || { git diff --stat -- requirements/; \
		echo "requirements/*.txt were stale: re-exported from uv.lock, commit them"; exit 1; }

.PHONY: render
# The committed deploy/nginx/example/ and deploy/systemd/example/, re-rendered from their templates (a test
# fails when they are stale). On a server: `manage.py render_deploy nginx|systemd` (README, "Deploy to a VM").
render: install
	$(BIN)/python manage.py render_deploy examples

# DJANGO NEXT: the suite against Django 6.1 in .venv-next (needs Python 3.12+; skipped with the reason without one).
# README, "Upgrading to Django 6". NEXT_PYTHON=/path/to/python3.12 picks the interpreter.
.PHONY: test-next
test-next: install
	TEST_DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/python .ci/django_next.py $(PYTEST_ARGS)

# VM RELEASES: README "Deploy to a VM", step 8, run by root on the server in a checkout of the version to release
# (e.g. over SSH from .github/workflows/deploy-vm.yml). deploy/vm/release.py holds every rule: a directory and a
# virtualenv per release under VM_HOME/releases, collectstatic and migrate as VM_USER with VM_ENV_FILE, `current`
# switched, the units restarted. Nothing here installs the dev toolchain.
#   sudo make release VERSION=v1.5.0        (SOURCE=path/to/checkout-or.tar.gz; default this checkout)
#   sudo make rollback                      (VERSION=v1.4.0 to pick one; refused below the applied migrations)
VM_HOME ?= /srv/folio
VM_USER ?= folio
VM_VENV ?= $(VM_HOME)/current/venv
VM_ENV_FILE ?= /etc/folio/folio.env
RELEASE_TOOL = python3 deploy/vm/release.py --home $(VM_HOME) --user $(VM_USER) --env-file $(VM_ENV_FILE)
.PHONY: release rollback releases
release:
	$(if $(VERSION),,$(error VERSION=... names the release, e.g. VERSION=v1.5.0))
	$(RELEASE_TOOL) release $(VERSION) $(or $(SOURCE),.)

rollback:
	$(RELEASE_TOOL) rollback $(VERSION)

# A listing, so make does not echo the command above it.
releases:
	@$(RELEASE_TOOL) list

# SEVERAL APP HOSTS (README, "Several app hosts"): on the load balancer, with the production environment (WEB_HOSTS)
# loaded, take one app host out of nginx's rotation before replacing its code, and put it back after. nginx has no
# active health checks: a host is drained by rendering it `down` and reloading, which lets in-flight requests end.
#   make drain HOST=10.0.0.11:8000 NGINX_SITE_ARGS="--domain folio.example.org" NGINX_SITE_DIR=/etc/nginx/sites-available
# NGINX is the command that checks and signals the running nginx (the system's by default).
NGINX ?= nginx
NGINX_SITE_DIR ?= /etc/nginx/sites-available
NGINX_SITE_ARGS ?=
.PHONY: drain rejoin
drain: install
	$(if $(HOST),,$(error HOST=host:port is required, one of WEB_HOSTS))
	$(BIN)/python manage.py render_deploy nginx $(NGINX_SITE_ARGS) --drain $(HOST) --output-dir $(NGINX_SITE_DIR)
	$(NGINX) -t -q
	$(NGINX) -s reload

rejoin: install
	$(BIN)/python manage.py render_deploy nginx $(NGINX_SITE_ARGS) --output-dir $(NGINX_SITE_DIR)
	$(NGINX) -t -q
	$(NGINX) -s reload

# DOCKER: a release of docker-compose.production.yml, one web replica at a time (deploy/docker/release.sh says how).
.PHONY: docker-release
docker-release:
	bash deploy/docker/release.sh $(IMAGE)
