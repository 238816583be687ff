#!/usr/bin/env bash
# Build step 1, run by the Dockerfile's build stage: a virtualenv at
# $VIRTUAL_ENV holding exactly what uv.lock pins, exported to requirements/production.txt (run from the app root).
set -euo pipefail

: "${VIRTUAL_ENV:?set VIRTUAL_ENV to the virtualenv to create, e.g. /opt/venv}"
requirements="${1:-requirements/production.txt}"

# No pip or setuptools inside: nothing is installed at run time, and they are weight an attacker could use.
uv venv --quiet "$VIRTUAL_ENV"
# --require-hashes: every archive must match the hash the lock recorded. --no-deps: the export already lists every
# transitive dependency, so a package can only arrive pinned. Bytecode compiled now, because the running container
# cannot write it (PYTHONDONTWRITEBYTECODE, read-only code) and would otherwise compile on every cold start.
uv pip install --quiet --python "$VIRTUAL_ENV/bin/python" --require-hashes --no-deps --compile-bytecode \
    -r "$requirements"
