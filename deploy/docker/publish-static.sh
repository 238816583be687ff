#!/usr/bin/env bash
# Run by the production compose file's one-shot `static` service: copy this image's collected static files into
# the volume nginx serves. A named volume is seeded from the image only while it is empty, so without this step
# nginx would serve the first release's files forever. Hashed names never collide, so the previous release's
# files stay for pages still open in browsers during a deploy.
set -euo pipefail
cd "$(dirname "$0")/../.."

source="${STATIC_ROOT:-staticfiles}"
target="${1:?usage: publish-static.sh TARGET_DIRECTORY}"
test -f "$source/staticfiles.json" || { echo "no collected static files in $source: build the image first" >&2; exit 1; }
cp -R "$source/." "$target/"
