#!/usr/bin/env bash
# Let's Encrypt renewal for docker-compose.production.yml, from the host's cron or a systemd timer, twice a day:
#   deploy/docker/renew-certificates.sh
# certbot (on the host) renews through the webroot nginx serves on port 80 (FOLIO_ACME_DIR, default
# /var/www/certbot, mounted into nginx), so nothing has to stop; when a certificate changed, certbot runs this
# script again with --reload (its deploy hook), which has nginx check its configuration and re-read the
# certificates gracefully: requests in flight finish, no connection is refused.
# The first certificate comes before nginx can start (it needs one): README, "Docker", step 2.
set -euo pipefail
cd "$(dirname "$0")/../.."
export COMPOSE_FILE="${COMPOSE_FILE:-docker-compose.production.yml}"

if [ "${1:-}" = --reload ]; then
    docker compose exec -T nginx nginx -t -q
    docker compose exec -T nginx nginx -s reload
    exit 0
fi
exec certbot renew --webroot --webroot-path "${FOLIO_ACME_DIR:-/var/www/certbot}" \
    --deploy-hook "$(realpath "$0") --reload"
