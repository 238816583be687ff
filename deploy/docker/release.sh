#!/usr/bin/env bash
# A release of docker-compose.production.yml without a failed request (`make docker-release`, README "Docker"):
#   1. build the image, tagged with the release (git's short commit unless FOLIO_RELEASE says otherwise);
#   2. migrate with it, straight to PostgreSQL, and publish its static files: if either fails, stop here, with
#      every running replica untouched (a database that is down stops the release at this step);
#   3. replace web's replicas one at a time: start one of the new image, wait until Docker calls it healthy, then
#      stop one old replica (Gunicorn finishes its requests within stop_grace_period). A new replica that is not
#      healthy within FOLIO_RELEASE_HEALTH_TIMEOUT seconds is removed and the release stops, the old ones serving;
#   4. recreate the worker on the new image (it finishes its task in hand first).
# nginx re-resolves `web` every few seconds (deploy/docker/nginx/default.conf.template), so it follows.
#
#   release.sh              build and release this checkout
#   release.sh IMAGE        release an image built elsewhere (skips step 1)
# Environment: COMPOSE_FILE / COMPOSE_PROJECT_NAME as for `docker compose`; FOLIO_BUILD_ARGS, extra `docker build`
# arguments; FOLIO_RELEASE_HEALTH_TIMEOUT (default 180).
set -euo pipefail
cd "$(dirname "$0")/../.."
export COMPOSE_FILE="${COMPOSE_FILE:-docker-compose.production.yml}"
health_timeout="${FOLIO_RELEASE_HEALTH_TIMEOUT:-180}"
say() { echo "release: $*" >&2; }

if (($#)); then
    image="$1"
    export FOLIO_RELEASE="${FOLIO_RELEASE:-$(docker image inspect --format '{{.Id}}' "$image" | cut -c8-19)}"
else
    export FOLIO_RELEASE="${FOLIO_RELEASE:-$(git rev-parse --short HEAD 2>/dev/null || date -u +%Y%m%d%H%M%S)}"
    image="folio:$FOLIO_RELEASE"
    say "building $image"
    # shellcheck disable=SC2086  # FOLIO_BUILD_ARGS is a list of arguments
    docker build ${FOLIO_BUILD_ARGS:-} --build-arg "FOLIO_RELEASE=$FOLIO_RELEASE" --tag "$image" .
fi
# Every service of the app image follows FOLIO_IMAGE (docker-compose.production.yml's x-app).
export FOLIO_IMAGE="$image"

web_ids() { docker compose ps --quiet web; }
old=$(web_ids)
test -n "$old" || { say "no web replica is running: start the stack first (docker compose up -d)"; exit 1; }
count=$(wc -l <<<"$old")

say "migrating with $image"
docker compose run --rm --no-deps migrate || { say "migrate failed: nothing replaced, $count old replica(s) serving"; exit 1; }
say "publishing static files"
docker compose run --rm --no-deps static || { say "static failed: nothing replaced, $count old replica(s) serving"; exit 1; }

wait_healthy() {
    local container="$1" deadline=$((SECONDS + health_timeout)) status
    while ((SECONDS < deadline)); do
        status=$(docker inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$container")
        case "$status" in
            healthy) return 0 ;;
            unhealthy | none) return 1 ;;
        esac
        sleep 2
    done
    return 1
}

for previous in $old; do
    before=$(web_ids)
    docker compose up --detach --no-deps --no-recreate --no-build --pull never --scale "web=$((count + 1))" web
    new=$(comm -13 <(sort <<<"$before") <(web_ids | sort))
    test -n "$new" || { say "no new web replica was started"; exit 1; }
    if ! wait_healthy "$new"; then
        say "the new replica $(docker inspect --format '{{.Name}}' "$new") is not healthy: removing it; the old replicas keep serving"
        docker rm --force "$new" >/dev/null
        exit 1
    fi
    say "replacing $(docker inspect --format '{{.Name}}' "$previous")"
    docker stop "$previous" >/dev/null
    docker rm "$previous" >/dev/null
done

say "recreating the worker"
docker compose up --detach --no-deps --no-build --pull never worker
say "released $FOLIO_RELEASE ($image): $count web replica(s)"
