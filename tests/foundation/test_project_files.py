"""Files that must agree with the code: .env.example with the settings, requirements with the lock."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter

import pytest

from apps.core.deploy.kubernetes import env_example_variables
from harness.project import ROOT

# env.str("NAME", ...), env.bool("NAME"), env("NAME"), os.environ.get("NAME"), os.environ["NAME"],
# os.environ.setdefault("NAME", ...) and gunicorn.conf.py's _whole_number("NAME", ...)
READ = re.compile(
    r"""(?:\benv(?:\.\w+)?\(|os\.environ(?:\.get\(|\.setdefault\(|\[)|os\.getenv\(|_whole_number\()"""
    r"""\s*["']([A-Z][A-Z0-9_]+)["']"""
)
# Variables that belong to the platform or the tools, not to Folio's configuration.
NOT_FOLIO = {"VERCEL", "CI"}
# Documented for Folio's users but read by Django itself: `createsuperuser --noinput` (README, "Set-up").
READ_BY_DJANGO = {"DJANGO_SUPERUSER_USERNAME", "DJANGO_SUPERUSER_EMAIL", "DJANGO_SUPERUSER_PASSWORD"}


# Django's own variable: each entry point (manage.py, config/wsgi.py, config/asgi.py) only gives it a default.
DEFAULTED_BY_EACH_ENTRY_POINT = {"DJANGO_SETTINGS_MODULE"}


def reads() -> Counter[str]:
    """How many times the project's code reads each variable."""
    sources = [*ROOT.glob("config/**/*.py"), *ROOT.glob("apps/**/*.py"), ROOT / "gunicorn.conf.py"]
    found: Counter[str] = Counter()
    for path in sources:
        if path.exists() and "migrations" not in path.parts:
            found.update(READ.findall(path.read_text(encoding="utf-8")))
    return found


def variables_read() -> set[str]:
    return set(reads()) - NOT_FOLIO


def variables_documented() -> set[str]:
    return set(env_example_variables())


def test_env_example_lists_every_variable_the_project_reads():
    missing = variables_read() - variables_documented()
    assert not missing, f".env.example lacks {sorted(missing)}"


def test_each_variable_is_read_in_exactly_one_place():
    # A second read drifts: another default, another parser, or one target seeing what another does not.
    twice = {name: count for name, count in reads().items() if count > 1}
    assert not twice.keys() - DEFAULTED_BY_EACH_ENTRY_POINT, f"read more than once: {twice}"


def test_env_example_lists_nothing_the_project_does_not_read():
    # The compose tests check services against .env.example, so a stale entry here would let them pass a
    # variable nothing reads.
    stale = variables_documented() - variables_read() - READ_BY_DJANGO
    assert not stale, f".env.example documents {sorted(stale)}, which nothing reads"


def test_every_variable_in_env_example_has_a_comment_above_it():
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        if re.match(r"^[A-Z][A-Z0-9_]+=", line):
            assert number > 0 and lines[number - 1].startswith("#"), f"no comment above {line}"


def test_dot_env_is_ignored_by_git():
    result = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT, capture_output=True, check=False)
    assert result.returncode == 0, ".env must be git-ignored"


@pytest.mark.parametrize(
    ("target", "flags"),
    [("production", ["--no-dev"]), ("dev", [])],
)
def test_requirements_files_are_exported_from_the_lock(target, flags, tmp_path):
    uv = shutil.which("uv", path=str(ROOT / ".venv" / "bin")) or shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not installed (make install bootstraps it into .venv)")
    exported = tmp_path / f"{target}.txt"
    subprocess.run(
        [uv, "export", "--frozen", *flags, "--no-emit-project", "--quiet", "-o", str(exported)],
        cwd=ROOT,
        check=True,
    )
    body = exported.read_text().split("\n", 2)[2]  # the first two lines name the output path
    committed = (ROOT / "requirements" / f"{target}.txt").read_text().split("\n", 2)[2]
    assert body == committed, f"requirements/{target}.txt is stale: run `make lock`"
