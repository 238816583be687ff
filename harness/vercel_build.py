"""Vercel's own build of Folio, and the function it builds, served one fresh process per request.

`vercel build --prod` (the CLI pinned in harness/vercel_cli/package.json, with its `@vercel/python` builder) runs
on a copy of the tree, for either vercel.json form, without an account: `.vercel/project.json` names a project
by hand and `.vercel/.env.production.local` holds the variables the builder's settings probe needs. It writes
the Build Output API's `.vercel/output/`: `config.json` (routes, schedules), `static/` (the CDN's files) and one
`functions/<name>.func/` whose `.vc-config.json` lists the bundle as a `filePathMap` (bundle path -> source path).

`VercelBuild.invoke()` lays that file map out as a directory of its own (hard links, so nothing outside the bundle
is reachable, as on Lambda) and calls the bundle's own handler, `vc__handler__python.vc_handler`, with the event
Vercel sends, in a new interpreter per request: an instance may serve one request and vanish. The interpreter is
the builder's Python run with `-S`, so only the standard library and the bundle's `_vendor` folder are importable.
"""

from __future__ import annotations

import base64
import hashlib
import json
import mimetypes
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from functools import cached_property
from http.cookies import SimpleCookie
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI_DIR = ROOT / "harness" / "vercel_cli"
CLI = CLI_DIR / "node_modules" / ".bin" / "vercel"
# The two forms README documents: Django detection at the root, or the classic builds/routes file.
FORMS = {"zero-config": "vercel.json", "builds-form": "deploy/vercel/vercel.json"}
VERCEL_HOST = "folio-git-main.vercel.app"
# Separates the handler's answer from anything the function prints to stdout.
MARKER = "@@vercel-build@@"
BUILD_TIMEOUT = 900  # a cold uv cache downloads every production wheel

# What the builder's settings probe (manage.py, with the project's variables) needs; it connects to nothing.
BUILD_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.vercel",
    "DJANGO_SECRET_KEY": "build-" + "Hq4Wz8Kp1Ld6Ns3Xv9Bt2Rm7Jc5Gf0Ye" * 2,
    "DATABASE_URL": "postgres://folio@db.invalid:5432/folio",
    "AWS_STORAGE_BUCKET_NAME": "folio-media",
    "ALLOWED_HOSTS": "folio.example.org",
}

# Runs in the fresh interpreter, from the function's directory as Lambda's /var/task: the bundle's trampoline
# puts _vendor on sys.path, imports the entrypoint through vercel_runtime and answers the event.
HANDLER = r"""
import json, sys
request = json.loads(sys.stdin.read())
import vc__handler__python
answer = vc__handler__python.vc_handler({"body": json.dumps(request["event"])}, None)
sys.stdout.write("\n" + request["marker"] + json.dumps(answer))
"""


class BuildFailed(RuntimeError):
    pass


def tree_files(root: Path = ROOT) -> list[str]:
    """The project as a clone would have it: tracked files plus new ones git does not ignore (no .venv,
    node_modules, staticfiles/ or media/ from local runs)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return [name for name in listed.split("\0") if name and (root / name).is_file()]


def copy_tree(destination: Path, root: Path = ROOT) -> None:
    for name in tree_files(root):
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, target)


def prepare(form: str, work: Path) -> Path:
    """A copy of the tree ready for `vercel build`: the form's vercel.json at the root, the project linked."""
    source = work / "project"
    copy_tree(source)
    if FORMS[form] != "vercel.json":
        shutil.copy(source / FORMS[form], source / "vercel.json")
    settings = source / ".vercel"
    settings.mkdir()
    project = {"projectId": "prj_folio_tests", "orgId": "team_folio_tests", "settings": {"framework": "django"}}
    (settings / "project.json").write_text(json.dumps(project))
    (settings / ".env.production.local").write_text("".join(f"{key}={value}\n" for key, value in BUILD_ENV.items()))
    return source


def build_command() -> list[str]:
    return [str(CLI), "build", "--prod", "--yes"]


def build_env() -> dict[str, str]:
    """The builder finds Python through `uv python list`: uv (bootstrapped into .venv by make install) on PATH."""
    uv_dir = Path(sys.executable).parent
    return {
        **{key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "DATABASE_", "AWS_"))},
        "PATH": f"{uv_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "VERCEL_TELEMETRY_DISABLED": "1",
        "FORCE_COLOR": "0",
        "NO_COLOR": "1",
    }


def start_build(form: str, work: Path) -> tuple[Path, subprocess.Popen[str]]:
    source = prepare(form, work)
    log = (work / "build.log").open("w")
    process = subprocess.Popen(
        build_command(), cwd=source, env=build_env(), stdout=log, stderr=subprocess.STDOUT, text=True
    )
    return source, process


def finish_build(form: str, source: Path, process: subprocess.Popen[str]) -> VercelBuild:
    try:
        status = process.wait(timeout=BUILD_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise BuildFailed(f"vercel build ({form}) took over {BUILD_TIMEOUT} s") from None
    log = (source.parent / "build.log").read_text(errors="replace")
    if status != 0:
        raise BuildFailed(f"vercel build ({form}) exited {status}:\n{log[-4000:]}")
    return VercelBuild(form=form, source=source, log=log)


def build_all(work: Path, forms: tuple[str, ...] = tuple(FORMS)) -> dict[str, VercelBuild]:
    """Build every form at once (each waits on downloads and the builder's uv more than on the CPU)."""
    started = {}
    for form in forms:
        (work / form).mkdir(parents=True)
        started[form] = start_build(form, work / form)
    return {form: finish_build(form, *started[form]) for form in forms}


@dataclass
class VercelResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    log: str = ""  # the function's stderr: what Vercel shows as runtime logs
    cookies: dict[str, str] = field(default_factory=dict)
    served_by: str = "function"  # or "static", when the CDN's files answered

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key.lower() == name.lower()), None)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> object:
        return json.loads(self.body)


@dataclass
class VercelBuild:
    form: str
    source: Path  # the copy of the tree the CLI built
    log: str  # what `vercel build` printed

    @property
    def output(self) -> Path:
        return self.source / ".vercel" / "output"

    @cached_property
    def config(self) -> dict:
        return json.loads((self.output / "config.json").read_text())

    @cached_property
    def function_dir(self) -> Path:
        found = sorted((self.output / "functions").rglob("*.func"))
        if len(found) != 1:
            raise AssertionError(f"expected one function, the build wrote {[str(path) for path in found]}")
        return found[0]

    @property
    def function_name(self) -> str:
        """The route destination the function answers to: "django", "config/wsgi.py"."""
        return self.function_dir.relative_to(self.output / "functions").as_posix().removesuffix(".func")

    @cached_property
    def vc_config(self) -> dict:
        return json.loads((self.function_dir / ".vc-config.json").read_text())

    @cached_property
    def trampoline(self) -> dict[str, str]:
        """The `__VC_HANDLER_*` values the bundle's handler module sets before importing vercel_runtime."""
        text = (self.function_dir / "vc__handler__python.py").read_text()
        return dict(re.findall(r'"__VC_HANDLER_(\w+)": "([^"]*)"', text))

    @property
    def entrypoint(self) -> str:
        return self.trampoline["ENTRYPOINT"]

    @property
    def max_duration(self) -> int | None:
        return self.vc_config.get("maxDuration")

    @property
    def schedules(self) -> list[dict]:
        return self.config.get("schedules", [])

    @cached_property
    def bundle(self) -> dict[str, Path]:
        """Every file the function ships (bundle path -> file on disk), the handler module included."""
        files = {name: self.source / path for name, path in self.vc_config["filePathMap"].items()}
        for path in self.function_dir.rglob("*"):
            if path.is_file() and path.name != ".vc-config.json":
                files[path.relative_to(self.function_dir).as_posix()] = path
        return files

    @property
    def bundle_bytes(self) -> int:
        return sum(path.stat().st_size for path in self.bundle.values())

    def vendored_version(self, distribution: str) -> str | None:
        pattern = re.compile(rf"_vendor/{re.escape(distribution)}-([^/]+)\.dist-info/METADATA")
        return next((match.group(1) for name in self.bundle if (match := pattern.fullmatch(name))), None)

    @cached_property
    def static_files(self) -> list[str]:
        static = self.output / "static"
        return sorted(path.relative_to(static).as_posix() for path in static.rglob("*") if path.is_file())

    @cached_property
    def task_root(self) -> Path:
        """The bundle laid out as Lambda's /var/task."""
        root = self.source.parent / "task"
        if root.exists():  # laid out by an earlier test process
            return root
        partial = root.with_name("task.partial")
        shutil.rmtree(partial, ignore_errors=True)
        for name, path in self.bundle.items():
            target = partial / name
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(path, target)
            except OSError:
                shutil.copy2(path, target)
        partial.rename(root)
        return root

    @property
    def python(self) -> Path:
        """The interpreter the builder chose (.python-version's 3.12); `-S` keeps its site-packages away."""
        return self.source / ".vercel" / "python" / ".venv" / "bin" / "python"

    def answered_by_route(self, path: str) -> int | None:
        """The status of a route before the first `handle` that answers by itself (no `dest`), if one matches."""
        for route in self.config.get("routes", []):
            if "handle" in route:
                return None
            if re.fullmatch(route["src"], path.split("?")[0]) and not route.get("dest"):
                return route["status"]
        return None

    def serves_statically(self, path: str) -> Path | None:
        """Vercel's routing, as far as Folio's two configs use it: routes before the first `handle` are checked
        first (the builds form sends everything to its function there); then the CDN's files; then the rest."""
        for route in self.config.get("routes", []):
            if "handle" in route:
                break
            if re.fullmatch(route["src"], path):
                return None
        candidate = self.output / "static" / path.lstrip("/").split("?")[0]
        return candidate if path != "/" and candidate.is_file() else None

    @property
    def bytecode_cache(self) -> dict[str, str]:
        """The function sets PYTHONDONTWRITEBYTECODE, and this build compiled no bytecode (the builder does so only
        with VERCEL_PYTHON_COMPILEALL), so every request would compile Django afresh: seconds each on a loaded
        machine. One cache outside the task root, as a pycache prefix, leaves the bundle untouched."""
        return {"PYTHONDONTWRITEBYTECODE": "", "PYTHONPYCACHEPREFIX": str(self.source.parent / "pycache")}

    def run(self, code: str, *, env: dict[str, str], stdin: str = "", timeout: float = 120):
        """`code` in a fresh interpreter started the way Lambda starts the function: from the task root, with
        the function's environment, only the standard library and the bundle importable."""
        return subprocess.run(
            [str(self.python), "-S", "-c", code],
            cwd=self.task_root,
            env={**env, **self.vc_config.get("environment", {}), **self.bytecode_cache},
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def invoke(
        self,
        method: str,
        path: str,
        *,
        env: dict[str, str],
        headers: dict[str, str] | None = None,
        body: bytes = b"",
        host: str = VERCEL_HOST,
        timeout: float = 120,
    ) -> VercelResponse:
        """One request, as Vercel would route it: a CDN file, or the built function in a fresh process."""
        if status := self.answered_by_route(path):
            return VercelResponse(status, [], b"", served_by="route")
        if static := self.serves_statically(path):
            kind = mimetypes.guess_type(static.name)[0] or "application/octet-stream"
            return VercelResponse(200, [("Content-Type", kind)], static.read_bytes(), served_by="static")
        event = {
            "method": method,
            "path": path,
            "headers": {
                "host": host,
                "x-forwarded-host": host,
                "x-forwarded-proto": "https",
                "x-forwarded-port": "443",
                "x-forwarded-for": "203.0.113.7",
                "x-real-ip": "203.0.113.7",
                "x-vercel-id": "fra1::iad1::harness",
                **{key.lower(): value for key, value in (headers or {}).items()},
            },
            "body": base64.b64encode(body).decode("ascii"),
            "encoding": "base64",
        }
        process = self.run(HANDLER, env=env, stdin=json.dumps({"event": event, "marker": MARKER}), timeout=timeout)
        if process.returncode != 0 or MARKER not in process.stdout:
            raise AssertionError(f"the function crashed (exit {process.returncode}):\n{process.stderr[-4000:]}")
        answer = json.loads(process.stdout.rpartition(MARKER)[2])
        raw = answer.get("body", "")
        payload = base64.b64decode(raw) if answer.get("encoding") == "base64" else raw.encode("utf-8")
        headers_out = [(key, value) for key, values in answer["headers"].items() for value in values]
        cookies: dict[str, str] = {}
        for key, value in headers_out:
            if key.lower() == "set-cookie":
                cookies.update({name: morsel.value for name, morsel in SimpleCookie(value).items()})
        return VercelResponse(answer["statusCode"], headers_out, payload, process.stderr, cookies)


def tree_key(root: Path = ROOT) -> str:
    """A digest of everything a build reads: the tree's files and the CLI's lock."""
    digest = hashlib.sha256()
    for name in sorted([*tree_files(root), "harness/vercel_cli/node_modules/.package-lock.json"]):
        path = root / name
        digest.update(name.encode() + b"\0" + (path.read_bytes() if path.is_file() else b"-") + b"\0")
    return digest.hexdigest()[:16]


def cached_builds(cache: Path = ROOT / "test-artifacts" / "vercel-build") -> dict[str, VercelBuild]:
    """Both forms, built once per state of the tree: `make test`'s two pytest passes share one build (each build
    takes most of a minute). Older builds are removed."""
    key = tree_key()
    work = cache / key
    done = work / "built"
    if not done.exists():
        shutil.rmtree(cache, ignore_errors=True)
        build_all(work)
        done.write_text("\n".join(FORMS))
    return {
        form: VercelBuild(form=form, source=work / form / "project", log=(work / form / "build.log").read_text())
        for form in FORMS
    }
