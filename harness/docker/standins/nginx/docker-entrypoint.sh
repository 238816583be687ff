#!/usr/bin/env bash
# The official image's 20-envsubst-on-templates.sh, in substance: each *.template under the template directory
# becomes the same path without the suffix under the output directory, with only the environment variables whose
# names match NGINX_ENVSUBST_FILTER (all, when unset) substituted, so nginx's own $host etc. survive.
set -euo pipefail
if [ "${1:-}" = nginx ] || [ "${1:-}" = nginx-debug ]; then
    template_dir="${NGINX_ENVSUBST_TEMPLATE_DIR:-/etc/nginx/templates}"
    suffix="${NGINX_ENVSUBST_TEMPLATE_SUFFIX:-.template}"
    output_dir="${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}"
    filter="${NGINX_ENVSUBST_FILTER:-}"
    defined=""
    for name in $(compgen -e); do
        if [[ "$name" =~ $filter ]]; then defined+="\${$name} "; fi
    done
    if [ -d "$template_dir" ]; then
        while IFS= read -r -d '' template; do
            relative="${template#"$template_dir/"}"
            output="$output_dir/${relative%"$suffix"}"
            mkdir -p "$(dirname "$output")"
            envsubst "$defined" <"$template" >"$output"
            echo "$0: rendered $template to $output"
        done < <(find -L "$template_dir" -type f -name "*$suffix" -print0)
    fi
fi
exec "$@"
