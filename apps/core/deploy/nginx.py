"""The nginx site and its snippets, from the settings in force and gunicorn.conf.py (upstream, timeouts)."""

from __future__ import annotations

import runpy
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config.env import BASE_DIR

from .templates import RenderError, check_host_name, render

STATIC_MAX_AGE_DAYS = 30
MEDIA_MAX_AGE_DAYS = 7
# Ten tries a minute from one address, five at once: plenty for a person, slow for a password list.
LOGIN_RATE = "10r/m"
LOGIN_BURST = 5
# What a refused login attempt is told (Retry-After): the seconds until the limit frees one attempt.
LOGIN_RETRY_AFTER = 60 // int(LOGIN_RATE.removesuffix("r/m"))
# nginx 1.25.1 moved HTTP/2 from a `listen` parameter to its own directive (Debian 12 ships 1.22).
HTTP2_DIRECTIVE_SINCE = (1, 25, 1)
# Several app hosts: one failed attempt (a refused or reset connection, a timeout, a 502/503) takes a host out of
# the rotation for FAIL_TIMEOUT, after which one request tries it again. Open-source nginx has no active checks.
MAX_FAILS = 1
FAIL_TIMEOUT = "10s"
# A host that does not answer SYN (its link is cut) costs a request this long before the next host is tried; the
# 60 s default would hold every request that picked it for a minute.
UPSTREAM_CONNECT_TIMEOUT = "2s"


def security_headers(settings: Any) -> list[tuple[str, str]]:
    """The headers Django's SecurityMiddleware would send, from the same settings, for nginx's own responses."""
    headers = []
    if settings.SECURE_HSTS_SECONDS:
        hsts = f"max-age={settings.SECURE_HSTS_SECONDS}"
        if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
            hsts += "; includeSubDomains"
        if settings.SECURE_HSTS_PRELOAD:
            hsts += "; preload"
        headers.append(("Strict-Transport-Security", hsts))
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append(("X-Content-Type-Options", "nosniff"))
    if settings.SECURE_REFERRER_POLICY:
        policy = settings.SECURE_REFERRER_POLICY
        headers.append(("Referrer-Policy", policy if isinstance(policy, str) else ",".join(policy)))
    if settings.X_FRAME_OPTIONS:
        headers.append(("X-Frame-Options", settings.X_FRAME_OPTIONS))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers.append(("Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY))
    return headers


def gunicorn_values(conf: Path = BASE_DIR / "gunicorn.conf.py") -> dict[str, Any]:
    """What gunicorn.conf.py sets under the current environment (GUNICORN_BIND, GUNICORN_TIMEOUT apply)."""
    return runpy.run_path(str(conf))


def upstream_address(bind: str) -> str:
    """Gunicorn's bind address as nginx's `server` line wants it: a wildcard is reached on loopback."""
    if bind.startswith("unix:"):
        return bind
    if bind.startswith(("0.0.0.0:", "[::]:")):
        return "127.0.0.1:" + bind.rsplit(":", 1)[1]
    return bind


def installed_nginx_version() -> tuple[int, ...] | None:
    nginx = shutil.which("nginx")
    if nginx is None:
        return None
    result = subprocess.run([nginx, "-v"], capture_output=True, text=True, check=False)
    _, _, version = result.stderr.strip().partition("nginx/")
    try:
        return tuple(int(part) for part in version.split()[0].split("."))
    except (ValueError, IndexError):
        return None


def size_for_nginx(size: int) -> str:
    mib = 1024 * 1024
    return f"{size // mib}m" if size % mib == 0 else f"{-(-size // 1024)}k"


@dataclass(frozen=True)
class NginxSite:
    domain: str
    static_root: Path
    media_root: Path
    upstream: str  # one host: today's site, no retries
    # Gunicorn's timeout: nginx must wait as long, or it answers 504 while Gunicorn is still working.
    upstream_timeout: int
    # Gunicorn's keepalive: nginx must drop an idle connection first, or it may reuse one Gunicorn is closing.
    upstream_keepalive: int
    admin_url: str
    body_limit_bytes: int
    security_headers: list[tuple[str, str]]
    aliases: tuple[str, ...] = ()
    certificate: Path | None = None  # default: Let's Encrypt's layout for the domain
    certificate_key: Path | None = None
    snippets_dir: Path = Path("/etc/nginx/snippets")
    log_dir: Path = Path("/var/log/nginx")
    # Debian's default site serves /var/www/html, so the first `certbot --webroot` works before this site exists.
    acme_root: Path = Path("/var/www/html")
    listen_addresses: tuple[str, ...] = ("", "[::]:")  # "" = every IPv4 address
    http_port: int = 80
    https_port: int = 443
    http2_directive: bool = False
    # Several app hosts (WEB_HOSTS) replace `upstream`; a drained one is rendered `down` (no new requests).
    web_hosts: tuple[str, ...] = ()
    drained: tuple[str, ...] = ()

    def upstream_servers(self) -> list[str]:
        if not self.web_hosts:
            if self.drained:
                raise RenderError("--drain needs WEB_HOSTS: one host cannot be drained (nothing would serve)")
            return [self.upstream]
        unknown = [host for host in self.drained if host not in self.web_hosts]
        if unknown:
            raise RenderError(f"--drain {', '.join(unknown)}: not in WEB_HOSTS ({', '.join(self.web_hosts)})")
        if len(self.web_hosts) == 1 and not self.drained:
            return list(self.web_hosts)  # one host elsewhere: today's site, pointed at it
        if set(self.web_hosts) <= set(self.drained):
            raise RenderError("--drain names every host in WEB_HOSTS: nothing would serve; rejoin one first")
        return [
            f"{host} down" if host in self.drained else f"{host} max_fails={MAX_FAILS} fail_timeout={FAIL_TIMEOUT}"
            for host in self.web_hosts
        ]

    def context(self) -> dict[str, Any]:
        check_host_name(self.domain)
        if not any(name == "Strict-Transport-Security" for name, _ in self.security_headers):
            raise RenderError("SECURE_HSTS_SECONDS is 0: an HTTPS-only site should send HSTS; set it first")
        live = Path("/etc/letsencrypt/live") / self.domain
        return {
            "domain": self.domain,
            "server_names": " ".join([self.domain, *self.aliases]),
            "static_root": str(self.static_root).rstrip("/"),
            "media_root": str(self.media_root).rstrip("/"),
            "upstream_servers": self.upstream_servers(),
            "several_hosts": len(self.web_hosts) > 1,
            "upstream_tries": len(self.web_hosts),
            "upstream_connect_timeout": UPSTREAM_CONNECT_TIMEOUT,
            "upstream_timeout": f"{self.upstream_timeout}s",
            "upstream_idle_timeout": f"{max(self.upstream_keepalive - 1, 1)}s",
            "admin_login_path": self.admin_url.strip("/") + "/login/",
            "body_limit": size_for_nginx(self.body_limit_bytes),
            "security_headers": self.security_headers,
            "certificate": self.certificate or live / "fullchain.pem",
            "certificate_key": self.certificate_key or live / "privkey.pem",
            "snippets_dir": str(self.snippets_dir).rstrip("/"),
            "log_dir": str(self.log_dir).rstrip("/"),
            "acme_root": self.acme_root,
            "listen_http": [f"{address}{self.http_port}" for address in self.listen_addresses],
            "listen_https": [f"{address}{self.https_port}" for address in self.listen_addresses],
            "https_port_suffix": "" if self.https_port == 443 else f":{self.https_port}",
            "http2_on_listen": not self.http2_directive,
            "static_expires": f"{STATIC_MAX_AGE_DAYS}d",
            "static_max_age": STATIC_MAX_AGE_DAYS * 86400,
            "media_expires": f"{MEDIA_MAX_AGE_DAYS}d",
            "login_rate": LOGIN_RATE,
            "login_burst": LOGIN_BURST,
            "login_retry_after": LOGIN_RETRY_AFTER,
        }


NGINX_FILES = [
    "folio.conf",
    "snippets/folio-tls.conf",
    "snippets/folio-security-headers.conf",
    "snippets/folio-proxy.conf",
]


def nginx_files(site: NginxSite) -> dict[str, str]:
    return render("nginx", NGINX_FILES, site.context())


def nginx_site_from_settings(settings: Any, **options: Any) -> NginxSite:
    """The site as the settings describe it; `options` are the operator's (domain, ports, paths)."""
    version = options.pop("nginx_version", None) or installed_nginx_version() or (1, 22)
    gunicorn = gunicorn_values()
    values = {
        "static_root": Path(settings.STATIC_ROOT),
        "media_root": Path(settings.MEDIA_ROOT),
        "upstream": upstream_address(gunicorn["bind"][0]),
        "upstream_timeout": gunicorn["timeout"],
        "upstream_keepalive": gunicorn["keepalive"],
        "admin_url": settings.ADMIN_URL,
        "body_limit_bytes": settings.DATA_UPLOAD_MAX_MEMORY_SIZE,
        "security_headers": security_headers(settings),
        "http2_directive": version >= HTTP2_DIRECTIVE_SINCE,
        "web_hosts": tuple(settings.WEB_HOSTS),
    }
    values.update({key: value for key, value in options.items() if value not in (None, "", ())})
    if options.get("upstream") and settings.WEB_HOSTS:
        raise RenderError("--upstream names one host but WEB_HOSTS names the app hosts: give one or the other")
    return NginxSite(**values)
