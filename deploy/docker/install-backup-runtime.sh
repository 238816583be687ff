#!/usr/bin/env bash
# Build step of the Dockerfile's backup stage, on the postgres image: the shared libraries the CPython copied from
# python:3.12-slim links (the same Debian release, so the same packages), the app's user, and the directories the
# backups and media volumes are mounted on (a new named volume takes the ownership of the directory it covers).
set -euo pipefail

apt-get update
apt-get install -y --no-install-recommends ca-certificates netbase tzdata libssl3 libsqlite3-0 libffi8 libbz2-1.0 \
    liblzma5 zlib1g libreadline8 libncursesw6 libuuid1 libgdbm6 libexpat1
rm -rf /var/lib/apt/lists/*
ldconfig
# Fail the build here, not at 03:00, when a library is missing.
python3 -c 'import ssl, sqlite3, ctypes, lzma, bz2, zlib, uuid, decimal'
# The runtime stage's user (uid 10001), so files in the volumes belong to the same owner whichever image wrote them.
groupadd --system --gid 10001 folio
useradd --system --no-log-init --uid 10001 --gid folio --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin folio
install --directory --owner=folio --group=folio --mode=700 /srv/backups
install --directory --owner=folio --group=folio /srv/media
