# syntax=docker/dockerfile:1
# Folio's production image: Gunicorn serving config.wsgi with production settings, as a non-root user.
# The steps that do real work are scripts in deploy/docker/. tests/docker/ builds this file with a real engine
# (Docker's classic builder, which ignores the syntax line above and needs no registry) and runs the image.

# uv installs from the lock; pinned to the version the Makefile bootstraps (tests/docker keeps the two equal).
FROM ghcr.io/astral-sh/uv:0.13.9 AS uv

# ---- build: a virtualenv with exactly what requirements/production.txt pins, hashes checked ----
# No compiler or libpq-dev (the reference installs the latter): every pinned package ships a manylinux wheel,
# and psycopg[binary] carries its own libpq.
FROM python:3.12-slim AS build
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    VIRTUAL_ENV=/opt/venv \
    UV_NO_CACHE=1 \
    UV_PYTHON_DOWNLOADS=never
COPY --from=uv /uv /usr/local/bin/uv
WORKDIR /app
# Only the lock's export and the script, so editing the source reuses this layer instead of reinstalling.
COPY requirements/production.txt requirements/production.txt
COPY deploy/docker/install-dependencies.sh deploy/docker/install-dependencies.sh
RUN bash deploy/docker/install-dependencies.sh

# ---- backup: the app on the database's own image, so `manage.py db_backup` finds the server's pg_dump ----
# Compose's `backup` service builds this stage (docker-compose.production.yml). pg_dump must be at least the
# server's major version and python:3.12-slim carries no PostgreSQL client; the postgres image is the same Debian
# release, so the interpreter copied from the build stage runs here once its libraries are installed. The FROM is
# compose's `db` image (tests/docker/test_dockerfile.py holds the two equal).
FROM postgres:16 AS backup
# Runtime's values where they matter to a job (no pip, no Gunicorn here).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    DJANGO_SETTINGS_MODULE=config.settings.production \
    MEDIA_ROOT=/srv/media \
    BACKUP_DIR=/srv/backups
# CPython as python:3.12-slim installs it (uv, also in the build stage's /usr/local/bin, stays behind).
COPY --from=build /usr/local/lib /usr/local/lib
COPY --from=build /usr/local/bin/python* /usr/local/bin/
WORKDIR /app
COPY deploy/docker/install-backup-runtime.sh deploy/docker/install-backup-runtime.sh
RUN bash deploy/docker/install-backup-runtime.sh
COPY --from=build /opt/venv /opt/venv
COPY . .
USER 10001:10001
# The postgres image's entrypoint would treat the command as a server's; this stage runs the job only.
ENTRYPOINT []
CMD ["python", "manage.py", "db_backup"]

# ---- runtime: the virtualenv, the source and its collected static files; nothing that builds ----
FROM python:3.12-slim AS runtime
# GUNICORN_BIND: gunicorn.conf.py binds 127.0.0.1 by default (right on a VM behind nginx); in a container only
# 0.0.0.0 is reachable from the other containers. MEDIA_ROOT: a directory the app user owns, for a volume.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    DJANGO_SETTINGS_MODULE=config.settings.production \
    GUNICORN_BIND=0.0.0.0:8000 \
    MEDIA_ROOT=/srv/media
# A fixed numeric uid, so volume ownership and Kubernetes' runAsNonRoot can rely on it. /srv/static and /srv/media
# are owned by it because a new named volume copies the ownership of the directory it is mounted over.
RUN groupadd --system --gid 10001 folio \
    && useradd --system --no-log-init --uid 10001 --gid folio --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin folio \
    && install --directory --owner=folio --group=folio /srv/static /srv/media
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# Owned by root and read-only to the app user: a compromised worker cannot rewrite the code it runs.
COPY . .
RUN bash deploy/docker/collectstatic.sh
# Which build this is (X-Folio-Release, Sentry's release tag): `make docker-release` passes it. Declared last, so a
# new value rebuilds nothing above.
ARG FOLIO_RELEASE=""
ENV FOLIO_RELEASE=${FOLIO_RELEASE}
USER 10001:10001
EXPOSE 8000
# /health/live checks the process only: a database blip must not get a healthy container restarted.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "deploy/docker/healthcheck.py"]
CMD ["gunicorn", "-c", "gunicorn.conf.py", "config.wsgi:application"]
