"""`manage.py render_deploy nginx|systemd|kubernetes|examples`: deployment files, from the settings in force.

Run it with the production environment loaded (on the server for a VM; with the cluster's ConfigMap values for
Kubernetes), so STATIC_ROOT, MEDIA_ROOT, ADMIN_URL, the body limit, the security headers, the probes' deadline and
the ports the pods reach are the ones the site really uses.
"""

from __future__ import annotations

import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.core.deploy import examples, kubernetes, nginx, systemd
from apps.core.deploy.templates import RenderError


class Command(BaseCommand):
    help = "Render the nginx site + snippets or the systemd units for a VM (see the README's VM section)."

    def add_arguments(self, parser: CommandParser) -> None:
        targets = parser.add_subparsers(dest="target", required=True)

        nginx_parser = targets.add_parser("nginx", help="site file and snippets (folio.conf, snippets/*.conf)")
        nginx_parser.add_argument("--domain", required=True, help="the site's host name, e.g. folio.example.org")
        nginx_parser.add_argument("--alias", action="append", default=[], help="another name the site answers to")
        nginx_parser.add_argument("--static-root", type=Path, help="default: STATIC_ROOT")
        nginx_parser.add_argument("--media-root", type=Path, help="default: MEDIA_ROOT")
        nginx_parser.add_argument("--upstream", help="default: where gunicorn.conf.py binds (GUNICORN_BIND)")
        nginx_parser.add_argument(
            "--certificate", type=Path, help="default: /etc/letsencrypt/live/DOMAIN/fullchain.pem"
        )
        nginx_parser.add_argument(
            "--certificate-key", type=Path, help="default: /etc/letsencrypt/live/DOMAIN/privkey.pem"
        )
        nginx_parser.add_argument(
            "--snippets-dir", type=Path, help="where the snippets go (default /etc/nginx/snippets)"
        )
        nginx_parser.add_argument("--log-dir", type=Path, help="default /var/log/nginx")
        nginx_parser.add_argument("--acme-root", type=Path, help="certbot --webroot directory (default /var/www/html)")
        nginx_parser.add_argument("--listen-address", action="append", default=[], help="default: all IPv4 and IPv6")
        nginx_parser.add_argument("--http-port", type=int)
        nginx_parser.add_argument("--https-port", type=int)
        nginx_parser.add_argument(
            "--drain",
            action="append",
            default=[],
            metavar="HOST:PORT",
            help="render this WEB_HOSTS host `down`: no new requests (reload nginx after); `make drain` does both",
        )
        nginx_parser.add_argument("--output-dir", type=Path, help="write the files here instead of printing the site")

        systemd_parser = targets.add_parser(
            "systemd", help="folio-web.socket and .service, folio-worker.service, folio-backup.service and .timer"
        )
        systemd_parser.add_argument(
            "--project-dir", type=Path, default=settings.BASE_DIR, help="default: this checkout; /srv/folio/current"
        )
        systemd_parser.add_argument(
            "--venv", type=Path, default=Path(sys.prefix), help="default: this virtualenv; /srv/folio/current/venv"
        )
        systemd_parser.add_argument("--env-file", type=Path, default=Path("/etc/folio/folio.env"))
        systemd_parser.add_argument("--user", default="folio")
        systemd_parser.add_argument("--group", default="folio")
        systemd_parser.add_argument("--output-dir", type=Path, help="write the units here instead of printing them")

        kubernetes_parser = targets.add_parser(
            "kubernetes", help="web and worker Deployments, Service, migration Job, PDB, HPA, NetworkPolicy, routes"
        )
        kubernetes_parser.add_argument("--image", default="", help="the image to run, e.g. registry/folio:1.4.0")
        kubernetes_parser.add_argument("--domain", help="the site's host name (default: the first ALLOWED_HOSTS)")
        kubernetes_parser.add_argument(
            "--gateway-class", default="default", help="the Gateway's gatewayClassName (your implementation's)"
        )
        kubernetes_parser.add_argument("--namespace", default="folio", help="the namespace of every object")
        kubernetes_parser.add_argument("--output-dir", type=Path, help="write the files here instead of printing")

        targets.add_parser("examples", help="re-render the committed deploy/*/example/ files")

    def handle(self, *args, target: str, **options) -> None:
        try:
            if target == "examples":
                self.write(examples.example_files())
                return
            if target == "nginx":
                files = nginx.nginx_files(self.nginx_site(options))
            elif target == "kubernetes":
                files = kubernetes.kubernetes_files(
                    kubernetes.kubernetes_site_from_settings(
                        settings,
                        image=options["image"],
                        domain=options["domain"],
                        worker_command=kubernetes.WORKER_COMMAND,
                        gateway_class=options["gateway_class"],
                        namespace=options["namespace"],
                    )
                )
            else:
                files = systemd.systemd_files(
                    systemd.SystemdUnits(
                        # Not resolved: /srv/folio/current must stay the link a release switches.
                        project_dir=options["project_dir"].absolute(),
                        venv=options["venv"].absolute(),
                        env_file=options["env_file"],
                        user=options["user"],
                        group=options["group"],
                        writable_paths=(Path(settings.MEDIA_ROOT),),
                        backup_dir=Path(settings.BACKUP_DIR).absolute(),
                        bind=nginx.gunicorn_values()["bind"][0],
                    )
                )
        except RenderError as exc:
            raise CommandError(str(exc)) from None
        if options["output_dir"]:
            self.write({options["output_dir"].resolve() / name: text for name, text in files.items()})
        else:
            self.stdout.write("\n".join(f"# ---- {name}\n{text}" for name, text in files.items()), ending="")

    def nginx_site(self, options: dict) -> nginx.NginxSite:
        return nginx.nginx_site_from_settings(
            settings,
            domain=options["domain"],
            aliases=tuple(options["alias"]),
            static_root=options["static_root"],
            media_root=options["media_root"],
            upstream=options["upstream"],
            certificate=options["certificate"],
            certificate_key=options["certificate_key"],
            snippets_dir=options["snippets_dir"],
            log_dir=options["log_dir"],
            acme_root=options["acme_root"],
            listen_addresses=tuple(f"{address}:" for address in options["listen_address"]),
            http_port=options["http_port"],
            https_port=options["https_port"],
            drained=tuple(options["drain"]),
        )

    def write(self, files: dict[Path, str]) -> None:
        for path, text in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            self.stdout.write(f"wrote {path}")
