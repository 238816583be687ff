"""Cold start on Vercel and what the function bundles.

1. Cold start: a fresh interpreter imports the WSGI entrypoint and serves the first essay page (import + first
   request, timed inside the process, as the function's first invocation), importing only from the bundle of
   item 2 (`python -S`, PYTHONPATH=bundle), as the function does. Folio runs with its vercel settings
   against PostgreSQL, with the static manifest in place the way Vercel's builder leaves it; the baseline is a
   bare `django-admin startproject` project, generated into a temp dir now, whose one view reads the same essay
   row from the same database and renders it in a template. Alternating runs, after one untimed warm-up each
   (Vercel compiles bytecode at build time, so a warm .pyc cache is the realistic case). Goal ≤ 1.2×.
   Its limit, measured in the same rounds: Django alone, a fresh interpreter on the same bundle importing the
   request handler, ORM and template engine any Django page needs (no settings, no request).
2. Installed size of requirements/production.txt in a fresh target dir, native libraries stripped of debug
   sections as Vercel's builder does (what Vercel bundles, bytecode aside). Goal < 80 MB.
3. The function Vercel's own build bundles (bench/vercel_bundle.py): its size against Vercel's 250 MB limit.
4. Import cost of each production dependency (`python -X importtime`, fresh interpreter each, its own
   dependencies included), and which of them the function loads at start: reported in the details.

BENCH_DATABASE_URL names the PostgreSQL server to use (default: the local one, trust auth).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import bare_django
from bench.common import Measurement, median_and_spread
from bench.goals import Goal
from bench.vercel_bundle import measure as vercel_bundle
from harness.postgres import Cluster
from harness.project import PYTHON, ROOT, run_in_project

SERVER_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
DATABASE = "folio_bench_cold_start"
SECRET = "bench-" + "Kf3Xq8Lm1Zt6Wv9Rb4Nc7Hy2Jd5Gp0Sa" * 2
RATIO_GOAL = 1.2
SIZE_GOAL_MB = 80.0
HOST = "folio-bench.vercel.app"
NATIVE_LIBRARY = re.compile(r"\.so(\.\d+)*$")

# Production dependencies by the module a project imports, heaviest suspects included on purpose.
IMPORTS = {
    "django": "django.contrib.admin",
    "django-environ": "environ",
    "dj-database-url": "dj_database_url",
    "psycopg": "psycopg",
    "psycopg-pool": "psycopg_pool",
    "whitenoise": "whitenoise.middleware",
    "django-storages[s3] (boto3)": "storages.backends.s3",
    "markdown": "markdown",
    "nh3": "nh3",
    "django-csp": "csp.middleware",
    "django-tasks": "django_tasks",
    "gunicorn": "gunicorn.app.wsgiapp",
    "pillow": "PIL.Image",
    "redis": "redis",
    "sentry-sdk": "sentry_sdk",
}

# Runs in the fresh interpreter: time from the first line to the first response's last byte.
FIRST_REQUEST = r"""
import time
started = time.perf_counter()
import importlib.util, io, json, sys
entry, path, host = sys.argv[1:4]
spec = importlib.util.spec_from_file_location("__entry", entry)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
app = getattr(module, "app", None) or module.application
environ = {
    "REQUEST_METHOD": "GET", "SCRIPT_NAME": "", "PATH_INFO": path, "QUERY_STRING": "",
    "SERVER_NAME": host, "SERVER_PORT": "443", "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": host,
    "HTTP_X_FORWARDED_PROTO": "https", "REMOTE_ADDR": "203.0.113.7",
    "wsgi.version": (1, 0), "wsgi.url_scheme": "https", "wsgi.input": io.BytesIO(b""), "wsgi.errors": sys.stderr,
    "wsgi.multithread": False, "wsgi.multiprocess": False, "wsgi.run_once": False,
}
statuses = []
body = b"".join(app(environ, lambda status, headers, exc_info=None: statuses.append(status)))
elapsed = (time.perf_counter() - started) * 1000
heavy = [name for name in sys.argv[4:] if name in sys.modules]
print("@@" + json.dumps({"ms": elapsed, "status": statuses[0], "bytes": len(body), "heavy": heavy}))
"""

# Runs in the fresh interpreter: Django alone, the floor under any Django site's cold start.
DJANGO_ALONE = r"""
import time
started = time.perf_counter()
import json
import django.core.handlers.wsgi, django.db.models, django.template.backends.django, django.urls
print("@@" + json.dumps({"ms": (time.perf_counter() - started) * 1000}))
"""


def _folio_env(database_url: str, static_root: Path) -> dict[str, str]:
    keep = {key: value for key, value in os.environ.items() if key in {"PATH", "HOME", "LANG", "TMPDIR"}}
    return {
        **keep,
        "VERCEL": "1",
        "DJANGO_SETTINGS_MODULE": "config.settings.vercel",
        "DJANGO_SECRET_KEY": SECRET,
        "DATABASE_URL": database_url,
        "ALLOWED_HOSTS": HOST,
        "AWS_STORAGE_BUCKET_NAME": "folio-media",
        "STATIC_ROOT": str(static_root),
    }


def _run(command: list[str], *, env: dict[str, str], cwd: Path, timeout: float = 300) -> str:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:4])} failed: {result.stderr[-2000:]}")
    return result.stdout


def _prepare_folio(work: Path, database_url: str) -> tuple[dict[str, str], str]:
    """Migrate and seed the database; collectstatic as Vercel's builder does, keeping only the manifest."""
    cdn, function_static = work / "cdn" / "static", work / "function" / "staticfiles"
    build_env = _folio_env(database_url, cdn)
    for command in (["migrate", "--noinput"], ["seed_demo"], ["collectstatic", "--noinput"]):
        _run([PYTHON, "manage.py", *command], env=build_env, cwd=ROOT)
    function_static.mkdir(parents=True)
    shutil.copy(cdn / "staticfiles.json", function_static / "staticfiles.json")
    essays = json.loads((ROOT / "apps" / "content" / "demo" / "essays.json").read_text(encoding="utf-8"))
    return _folio_env(database_url, function_static), essays[0]["slug"]


def _first_request(entry: Path, path: str, *, env: dict[str, str], cwd: Path, heavy: list[str]) -> dict:
    # -S: no site-packages, so only the bundle on PYTHONPATH is importable (no dev tools such as pygments,
    # which Markdown's fenced_code would otherwise pick up), as in the function.
    out = _run([PYTHON, "-S", "-c", FIRST_REQUEST, str(entry), path, HOST, *heavy], env=env, cwd=cwd, timeout=120)
    answer = json.loads(out.rpartition("@@")[2])
    if not answer["status"].startswith("200"):
        raise RuntimeError(f"{entry} answered {answer['status']} for {path}")
    return answer


def _django_alone(env: dict[str, str], cwd: Path) -> float:
    out = _run([PYTHON, "-S", "-c", DJANGO_ALONE], env=env, cwd=cwd, timeout=120)
    return json.loads(out.rpartition("@@")[2])["ms"]


def _import_costs(rounds: int, bundle: Path) -> dict[str, float | str]:
    """Milliseconds to import each dependency in a fresh interpreter on the bundle (its own imports included)."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "PYTHONPATH": str(bundle)}
    costs: dict[str, float | str] = {}
    for dist, module in IMPORTS.items():
        samples = []
        for _ in range(rounds):
            result = run_in_project(
                [PYTHON, "-S", "-X", "importtime", "-c", f"import {module}"],
                env=env,
                timeout=60,
            )
            line = next(
                (ln for ln in reversed(result.stderr.splitlines()) if ln.split("|")[-1].strip() == module), None
            )
            if result.returncode != 0 or line is None:
                break
            samples.append(int(line.split("|")[1]) / 1000)
        costs[f"import {dist} ({module}), ms"] = sorted(samples)[len(samples) // 2] if samples else "failed"
    return costs


def _installed_size(work: Path) -> tuple[float, dict[str, float | str], Path]:
    """Install requirements/production.txt into an empty target dir; its total and per-distribution sizes."""
    target = work / "bundle"
    uv = shutil.which("uv", path=str(Path(PYTHON).parent)) or shutil.which("uv")
    if uv:
        # Copies, not hardlinks into uv's cache: stripping below must not touch the cache or the project's venv.
        command = [uv, "pip", "install", "--quiet", "--link-mode=copy", "--python", PYTHON, "--target", str(target)]
    else:
        command = [PYTHON, "-m", "pip", "install", "--quiet", "--no-compile", "--target", str(target)]
    _run([*command, "-r", str(ROOT / "requirements" / "production.txt")], env=dict(os.environ), cwd=ROOT, timeout=600)
    raw = _bytes_under(target)
    # Vercel's builder strips debug sections from native libraries (packages/python/src/strip.ts); do the same.
    strip = shutil.which("llvm-strip") or shutil.which("strip")
    native = [str(path) for path in target.rglob("*") if NATIVE_LIBRARY.search(path.name) and path.is_file()]
    if strip and native:
        subprocess.run([strip, "--strip-debug", *native], capture_output=True, timeout=300, check=False)
    total = _bytes_under(target)
    per_package: dict[str, float] = {}
    for dist_info in target.glob("*.dist-info"):
        name = dist_info.name.split("-")[0]
        size = 0
        for row in (dist_info / "RECORD").read_text().splitlines():
            relative = row.split(",")[0]
            file = target / relative
            if relative and file.is_file():
                size += file.stat().st_size
        per_package[name] = size / 1e6
    ranked = sorted(per_package.items(), key=lambda item: item[1], reverse=True)
    details: dict[str, float | str] = {
        "installed before stripping native libraries, MB": round(raw / 1e6, 2),
        "native libraries stripped with": Path(strip).name if strip and native else "nothing (no strip tool)",
    }
    return total / 1e6, {**details, **{f"size {name}, MB": round(mb, 2) for name, mb in ranked}}, target


def _bytes_under(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file() and not path.is_symlink())


def run(quick: bool) -> list[Measurement]:
    rounds = 3 if quick else 11
    heavy_modules = ["boto3", "botocore", "PIL", "markdown", "nh3", "sentry_sdk", "redis", "gunicorn"]
    with tempfile.TemporaryDirectory(prefix="folio-cold-start-") as tmp:
        work = Path(tmp)
        with Cluster.from_url(SERVER_URL).scratch_database(DATABASE) as database_url:
            size_mb, sizes, bundle = _installed_size(work)
            folio_env, slug = _prepare_folio(work, database_url)
            bare_project, bare_env = bare_django.make_project(work, database_url)
            # Both sides import from the bundle Vercel would ship, and from nothing else.
            folio_env, bare_env = ({**env, "PYTHONPATH": str(bundle)} for env in (folio_env, bare_env))
            path = f"/essays/{slug}/"
            folio = {"entry": ROOT / "config" / "wsgi.py", "env": folio_env, "cwd": ROOT}
            bare = {"entry": bare_project / bare_django.PACKAGE / "wsgi.py", "env": bare_env, "cwd": bare_project}
            for side in (folio, bare):  # warm-up: bytecode caches, as Vercel's build leaves them
                _first_request(side["entry"], path, env=side["env"], cwd=side["cwd"], heavy=heavy_modules)
            _django_alone(bare_env, bare_project)  # warm-up, as the others
            folio_ms, bare_ms, django_ms, heavy_loaded = [], [], [], set()
            for _ in range(rounds):
                answer = _first_request(folio["entry"], path, env=folio_env, cwd=ROOT, heavy=heavy_modules)
                folio_ms.append(answer["ms"])
                heavy_loaded |= set(answer["heavy"])
                bare_ms.append(_first_request(bare["entry"], path, env=bare_env, cwd=bare_project, heavy=[])["ms"])
                django_ms.append(_django_alone(bare_env, bare_project))
            import_costs = _import_costs(1 if quick else 3, bundle)

    folio_median, folio_spread = median_and_spread(folio_ms)
    bare_median, bare_spread = median_and_spread(bare_ms)
    django_median, django_spread = median_and_spread(django_ms)
    ratio = folio_median / bare_median
    details: dict[str, float | str] = {
        "rounds (alternating)": float(rounds),
        "Django alone (handler, ORM, templates imported), ms": round(django_median, 1),
        "bare startproject vs Django alone": f"{bare_median / django_median:.3g}×",
        "heavy packages loaded by the first essay page": ", ".join(sorted(heavy_loaded)) or "none",
        **import_costs,
    }
    cold_start = Measurement(
        name="cold start: fresh process → first essay page, vs bare startproject",
        subject=folio_median,
        baseline=bare_median,
        unit="ms",
        goal=Goal("≤", RATIO_GOAL),
        ratio=ratio,
        spread=f"Folio p25–p75 {folio_spread} ms; bare {bare_spread} ms; Django alone {django_spread} ms",
        limit=django_median,
        limit_name="Django alone (its import, no site)",
        command="python -m bench --only cold_start",
        details=details,
    )
    size = Measurement(
        name="production dependencies installed (what Vercel bundles)",
        subject=size_mb,
        baseline=SIZE_GOAL_MB,
        unit="MB",
        goal=Goal("<", SIZE_GOAL_MB, unit="MB"),
        command="python -m bench --only cold_start",
        details=sizes,
    )
    return [cold_start, size, vercel_bundle()]


if __name__ == "__main__":
    for measurement in run(quick="--quick" in sys.argv):
        print(measurement)
        for key, value in measurement.details.items():
            print(f"  {key}: {value}")
