"""Run Folio the way Vercel's Python runtime runs a WSGI entrypoint, one fresh process per invocation.

What the runtime documents and does (vercel/vercel, packages/python: the `vc_init` shim and the Django hook):
- the function's file is imported by path as a module, from the project root (which is on sys.path);
- the entry object is looked up by name: `app`, then `application` (a BaseHTTPRequestHandler `handler` is the
  third option, which Folio does not use);
- the WSGI environ is built from the incoming request: PATH_INFO and QUERY_STRING from its path, the scheme from
  `x-forwarded-proto`, SERVER_NAME from `host`, SERVER_PORT from `x-forwarded-port`, REMOTE_ADDR from
  `x-forwarded-for`/`x-real-ip`, every header as HTTP_*, and the body in a BytesIO;
- an instance may serve one request and vanish: each `invoke()` here is a new interpreter (the worst case, a
  cold start every time), so nothing may rely on state kept between requests.

`invoke(..., runtime=VercelRuntime(python))` sends the same request through Vercel's own shim instead: the
`vercel-runtime` package from PyPI (Python 3.12+), its `vc_init` module configured by the `__VC_HANDLER_*`
variables the way the Django hook sets them (the variable named by WSGI_APPLICATION) and called through its
`vc_handler(event, context)` entry, again in a fresh process.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from http.cookies import SimpleCookie

from harness.project import PYTHON, ROOT, STRONG_SECRET, clean_env, run_in_project

ENTRYPOINT = "config/wsgi.py"
ENTRY_NAMES = ("app", "application")
VERCEL_HOST = "folio-git-main.vercel.app"
# Separates the runtime's answer from anything the app itself prints to stdout.
MARKER = "@@vercel-harness@@"
CRON_SECRET = "cron-" + "Zq8Xw3Vt6Rp1Mn4Lk7Jh0Gf2Ds5Ab9Ce" * 2

# Runs in the fresh interpreter: import the entry file by path, find the entry object, serve one request.
RUNTIME = r"""
import base64, importlib.util, io, json, sys
from urllib.parse import urlsplit

request = json.loads(sys.stdin.read())
spec = importlib.util.spec_from_file_location("__vc_entrypoint", request["entrypoint"])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
for name in request["entry_names"]:
    app = getattr(module, name, None)
    if app is not None:
        break
else:
    sys.exit(f"no {' or '.join(request['entry_names'])} in {request['entrypoint']}")

headers = {key.lower(): value for key, value in request["headers"].items()}
body = base64.b64decode(request["body"])
url = urlsplit(request["path"])
environ = {
    "REQUEST_METHOD": request["method"],
    "SCRIPT_NAME": "",
    "PATH_INFO": url.path,
    "QUERY_STRING": url.query,
    "CONTENT_TYPE": headers.get("content-type", ""),
    "CONTENT_LENGTH": str(len(body)),
    "REMOTE_ADDR": headers.get("x-forwarded-for", headers.get("x-real-ip", "")).split(",")[0].strip(),
    "SERVER_NAME": headers.get("host", "lambda").split(":")[0],
    "SERVER_PORT": headers.get("x-forwarded-port", "443"),
    "SERVER_PROTOCOL": "HTTP/1.1",
    "wsgi.version": (1, 0),
    "wsgi.url_scheme": headers.get("x-forwarded-proto", "https"),
    "wsgi.input": io.BytesIO(body),
    "wsgi.errors": sys.stderr,
    "wsgi.multithread": False,
    "wsgi.multiprocess": False,
    "wsgi.run_once": False,
}
for key, value in headers.items():
    name = "HTTP_" + key.upper().replace("-", "_")
    if name not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
        environ[name] = value

started = {}
def start_response(status, response_headers, exc_info=None):
    started["status"] = int(status.split()[0])
    started["headers"] = response_headers
result = app(environ, start_response)
try:
    payload = b"".join(result)
finally:
    getattr(result, "close", lambda: None)()
sys.stdout.write("\n" + request["marker"] + json.dumps({
    "status": started["status"],
    "headers": started["headers"],
    "body": base64.b64encode(payload).decode("ascii"),
}))
"""


# Runs Vercel's own shim (vercel_runtime.vc_init) in the fresh interpreter, as the platform's bootstrap does.
SHIM = r"""
import json, os, sys

request = json.loads(sys.stdin.read())
os.environ["__VC_HANDLER_ENTRYPOINT"] = request["entrypoint_rel"]
os.environ["__VC_HANDLER_ENTRYPOINT_ABS"] = request["entrypoint"]
os.environ["__VC_HANDLER_MODULE_NAME"] = request["module"]
os.environ["__VC_HANDLER_VARIABLE_NAME"] = request["variable"]
from vercel_runtime import vc_init

event = {"body": json.dumps({
    "method": request["method"],
    "path": request["path"],
    "headers": request["headers"],
    "body": request["body"],
    "encoding": "base64",
})}
sys.stdout.write("\n" + request["marker"] + json.dumps(vc_init.vc_handler(event, None)))
"""


@dataclass(frozen=True)
class VercelRuntime:
    """A Python 3.12+ interpreter with requirements/production.txt and `vercel-runtime` installed."""

    python: str
    variable: str = "application"  # what the Django hook takes from WSGI_APPLICATION


@dataclass
class VercelResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    log: str = ""  # the function's stderr: what Vercel shows as runtime logs
    cookies: dict[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key.lower() == name.lower()), None)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> object:
        return json.loads(self.body)


def vercel_env(**overrides: str) -> dict[str, str]:
    """What a Vercel function of Folio sees: VERCEL=1 (so config/wsgi.py picks the vercel settings) and the
    project's variables. The database URL must be given; S3 points at a bucket nothing contacts unless a test
    uploads."""
    return clean_env(
        **{
            "VERCEL": "1",
            "VERCEL_ENV": "production",
            "DJANGO_SECRET_KEY": STRONG_SECRET,
            "ALLOWED_HOSTS": "folio.example.org",
            "AWS_STORAGE_BUCKET_NAME": "folio-media",
            "AWS_S3_ENDPOINT_URL": "http://127.0.0.1:9",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_S3_REGION_NAME": "us-east-1",
            "CRON_SECRET": CRON_SECRET,
            **overrides,
        }
    )


def invoke(
    method: str,
    path: str,
    *,
    env: dict[str, str],
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    host: str = VERCEL_HOST,
    entrypoint: str = ENTRYPOINT,
    timeout: float = 120,
    runtime: VercelRuntime | None = None,
) -> VercelResponse:
    """One request through a fresh Python process, as a cold Vercel function instance would serve it: our
    emulation of the runtime, or Vercel's own shim when `runtime` names an interpreter that has it."""
    request_headers = {
        "host": host,
        "x-forwarded-host": host,
        "x-forwarded-proto": "https",
        "x-forwarded-port": "443",
        "x-forwarded-for": "203.0.113.7",
        "x-real-ip": "203.0.113.7",
        "x-vercel-id": "fra1::iad1::harness",
        **{key.lower(): value for key, value in (headers or {}).items()},
    }
    request = {
        "entrypoint": str(ROOT / entrypoint),
        "entrypoint_rel": entrypoint,
        "module": entrypoint.removesuffix(".py").replace("/", "."),
        "variable": runtime.variable if runtime else "",
        "entry_names": list(ENTRY_NAMES),
        "marker": MARKER,
        "method": method,
        "path": path,
        "headers": request_headers,
        "body": base64.b64encode(body).decode("ascii"),
    }
    process = run_in_project(
        [runtime.python, "-c", SHIM] if runtime else [PYTHON, "-c", RUNTIME],
        env=env,
        timeout=timeout,
        stdin=json.dumps(request),
    )
    if process.returncode != 0:
        raise AssertionError(f"the function crashed (exit {process.returncode}):\n{process.stderr[-4000:]}")
    answer = json.loads(process.stdout.rpartition(MARKER)[2])
    if runtime:  # vc_handler's answer: statusCode, headers as lists, body as text or base64
        raw = answer.get("body", "")
        payload = base64.b64decode(raw) if answer.get("encoding") == "base64" else raw.encode("utf-8")
        answer = {
            "status": answer["statusCode"],
            "headers": [[key, value] for key, values in answer["headers"].items() for value in values],
            "body": base64.b64encode(payload).decode("ascii"),
        }
    headers_out = [(key, value) for key, value in answer["headers"]]
    cookies: dict[str, str] = {}
    for key, value in headers_out:
        if key.lower() == "set-cookie":
            cookies.update({name: morsel.value for name, morsel in SimpleCookie(value).items()})
    return VercelResponse(
        status=answer["status"],
        headers=headers_out,
        body=base64.b64decode(answer["body"]),
        log=process.stderr,
        cookies=cookies,
    )
