"""The bare Django baseline: a project exactly as `django-admin startproject` writes it, plus one view that reads an
essay's row from Folio's database and renders it in one template. What any Django site pays for a page, and no more:
the cold start's baseline (bench_cold_start) and the uncached essay page's limit (bench_gunicorn).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

from harness.project import PYTHON

# The project's package name; its one page is /essays/<slug>/.
PACKAGE = "baseline_site"

VIEW = """
from django.db import connection
from django.http import Http404
from django.shortcuts import render


def essay(request, slug):
    with connection.cursor() as cursor:
        cursor.execute("SELECT title, body FROM content_essay WHERE slug = %s", [slug])
        row = cursor.fetchone()
    if row is None:
        raise Http404
    return render(request, "essay.html", {"title": row[0], "body": row[1]})
"""

TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title></head>
<body><article><h1>{{ title }}</h1>{{ body|linebreaks }}</article></body></html>
"""


def make_project(work: Path, database_url: str) -> tuple[Path, dict[str, str]]:
    """Generate the project under `work` against the database at `database_url`: its folder and its environment."""
    project = work / PACKAGE
    project.mkdir()
    # Not from `work`, where the empty project folder would already import as a namespace package.
    command = [PYTHON, "-m", "django", "startproject", PACKAGE, str(project)]
    made = subprocess.run(command, cwd=work.parent, capture_output=True, text=True, timeout=300, check=False)
    if made.returncode != 0:
        raise RuntimeError(f"django-admin startproject failed: {made.stderr[-2000:]}")
    (project / PACKAGE / "views.py").write_text(VIEW)
    (project / "templates").mkdir()
    (project / "templates" / "essay.html").write_text(TEMPLATE)
    urls = project / PACKAGE / "urls.py"
    route = "urlpatterns = [\n    path('essays/<slug:slug>/', views.essay),"
    urls.write_text(urls.read_text().replace("urlpatterns = [", f"from {PACKAGE} import views\n\n{route}"))
    parts = urlsplit(database_url)
    # Persistent connections, as the deployment checklist advises and Folio does: under Gunicorn a connection per
    # request would make the limit slower than Folio (the cold start's one request is the same either way).
    settings = project / PACKAGE / "settings.py"
    settings.write_text(
        settings.read_text()
        + "\nDEBUG = False\nALLOWED_HOSTS = ['*']\n"
        + "TEMPLATES[0]['DIRS'] = [BASE_DIR / 'templates']\n"
        + "DATABASES = {'default': {'ENGINE': 'django.db.backends.postgresql', "
        + f"'NAME': {parts.path.lstrip('/')!r}, 'USER': {parts.username or 'postgres'!r}, "
        + f"'PASSWORD': {parts.password or ''!r}, 'HOST': {parts.hostname or '127.0.0.1'!r}, "
        + f"'PORT': {str(parts.port or 5432)!r}, 'CONN_MAX_AGE': 600}}}}\n"
    )
    keep = {key: value for key, value in os.environ.items() if key in {"PATH", "HOME", "LANG", "TMPDIR"}}
    return project, {**keep, "DJANGO_SETTINGS_MODULE": f"{PACKAGE}.settings"}
