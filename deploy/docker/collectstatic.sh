#!/usr/bin/env bash
# Build step 2, run by the Dockerfile's runtime stage: hashed, compressed
# static files (and WhiteNoise's manifest) baked into the image, so no container ever runs collectstatic.
set -euo pipefail
cd "$(dirname "$0")/../.."

# DJANGO_BUILD=1 lets production settings load without a secret or a database, for collectstatic only
# (config/settings/production.py refuses every other command under it).
DJANGO_BUILD=1 DJANGO_SETTINGS_MODULE=config.settings.production python manage.py collectstatic --noinput
