"""deploy/vm/release.py on this machine: what it refuses, in one line each, and the rollback that the database's
migrations forbid, against the real PostgreSQL. The build itself (virtualenvs, the units, systemd restarting into the
new release under load) is tests/docker/test_vm_releases.py's, on a machine booted with systemd.

Releases here are laid out as the tool lays them out, with the test's own virtualenv as theirs (building one per
test would cost minutes and prove nothing more about the rules), and `systemctl` replaced by `true`.
"""

from __future__ import annotations

import getpass
import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from apps.core.deploy import systemd
from harness.project import ROOT, STRONG_SECRET, clean_env

TOOL = ROOT / "deploy" / "vm" / "release.py"
# What a release needs of the tree to run manage.py: the code, its templates and static sources.
RELEASE_PARTS = ("apps", "config", "templates", "static", "requirements", "manage.py", "gunicorn.conf.py")


def run_tool(home: Path, *args: str, env_file: Path | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(TOOL), "--home", str(home), "--user", getpass.getuser(), "--systemctl", "true"]
    if env_file:
        command += ["--env-file", str(env_file)]
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=600, check=False, env=clean_env())


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def fake_release(home: Path, version: str, *, without: tuple[str, ...] = ()) -> Path:
    """releases/<version> as the tool leaves a built one, minus the files `without` names (relative paths)."""
    release = home / "releases" / version
    release.mkdir(parents=True)
    for part in RELEASE_PARTS:
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, release / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, release / part)
    for name in without:
        (release / name).unlink()
    (release / "venv").symlink_to(Path(sys.prefix))
    (release / "release.env").write_text(f"FOLIO_RELEASE={version}\n")
    built = f"2026-01-01T00:00:0{len(list((home / 'releases').iterdir()))}+00:00"
    (release / ".folio-release.json").write_text(json.dumps({"version": version, "built": built, "source": "-"}))
    return release


def go_live(home: Path, *versions: str) -> None:
    """The history of switches, the last one live."""
    (home / "release-history").write_text("".join(f"2026-01-01T00:00:00+00:00 {v}\n" for v in versions))
    (home / "current").unlink(missing_ok=True)
    (home / "current").symlink_to(Path("releases") / versions[-1])


# BAD INPUT: one line each, nothing left behind


@pytest.mark.parametrize("version", ["../../etc", "v1/evil", "..", "v1;rm", "", "x" * 65])
def test_a_version_that_is_not_a_plain_name_is_refused(tmp_path, version):
    result = run_tool(tmp_path, "release", version, str(ROOT))
    assert result.returncode == 1
    assert "is not a version" in one_line(result)
    assert not (tmp_path / "releases").exists() or not any((tmp_path / "releases").iterdir())


def test_a_source_that_is_not_a_checkout_is_refused_and_nothing_is_left(tmp_path):
    source = tmp_path / "not-folio"
    source.mkdir()
    (source / "README.md").write_text("hello\n")
    result = run_tool(tmp_path / "home", "release", "v1", str(source))
    assert result.returncode == 1
    assert "holds no Folio checkout" in one_line(result)
    assert not (tmp_path / "home" / "releases" / "v1").exists()


def test_a_missing_source_and_an_unreadable_archive_are_named(tmp_path):
    missing = run_tool(tmp_path / "home", "release", "v1", str(tmp_path / "nowhere.tar.gz"))
    assert missing.returncode == 1 and "does not exist" in one_line(missing)
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(b"not a tar archive at all")
    unreadable = run_tool(tmp_path / "home", "release", "v1", str(broken))
    assert unreadable.returncode == 1 and "not a readable tar archive" in one_line(unreadable)


def test_an_archive_member_outside_the_release_is_refused(tmp_path):
    evil = tmp_path / "evil.tar"
    payload = tmp_path / "payload"
    payload.write_text("x\n")
    with tarfile.open(evil, "w") as archive:
        archive.add(payload, arcname="../../outside")
    result = run_tool(tmp_path / "home", "release", "v1", str(evil))
    assert result.returncode == 1
    assert not (tmp_path / "outside").exists()


def test_rollback_with_no_earlier_release_says_so(tmp_path):
    result = run_tool(tmp_path, "rollback")
    assert result.returncode == 1
    assert "no earlier release" in one_line(result)


def test_a_version_built_already_is_not_built_again(tmp_path):
    fake_release(tmp_path, "v1")
    result = run_tool(tmp_path, "release", "v1", str(ROOT))
    assert result.returncode == 1
    assert "`rollback v1` switches to it" in one_line(result)


def test_rollback_to_an_unknown_or_live_release_is_refused(tmp_path):
    fake_release(tmp_path, "v1")
    go_live(tmp_path, "v1")
    assert "is live already" in one_line(run_tool(tmp_path, "rollback", "v1"))
    assert "not a complete release" in one_line(run_tool(tmp_path, "rollback", "v0"))


# WHAT A RELEASE HOLDS


def checkout(root: Path) -> Path:
    """A checkout with what must stay behind: secrets, a virtualenv, git's data, caches."""
    for name, text in {
        "manage.py": "", "apps/core/a.py": "", ".env.example": "DEBUG=\n", ".env": "DJANGO_SECRET_KEY=real\n",
        ".env.production": "DATABASE_URL=real\n", ".git/config": "", ".venv/bin/python": "",
        "apps/core/__pycache__/a.cpython-312.pyc": "", "staticfiles/x.css": "", "media/upload.png": "",
    }.items():  # fmt: skip
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def files_in(directory: Path) -> set[str]:
    return {str(path.relative_to(directory)) for path in directory.rglob("*") if path.is_file()}


def test_a_release_copies_the_code_without_secrets_virtualenvs_or_git(tmp_path):
    tool = systemd.release_tool()
    source = checkout(tmp_path / "src")
    tool.unpack(source, tmp_path / "from-directory")
    with tarfile.open(tmp_path / "folio.tar", "w") as archive:  # `git archive --prefix=folio/` puts one top directory
        archive.add(source, arcname="folio")
    (tmp_path / "from-archive").mkdir()
    tool.unpack(tmp_path / "folio.tar", tmp_path / "from-archive" / "v1")
    for release in (tmp_path / "from-directory", tmp_path / "from-archive" / "v1"):
        assert files_in(release) == {"manage.py", "apps/core/a.py", ".env.example"}


def test_old_releases_are_pruned_but_never_the_live_one_or_the_one_to_roll_back_to(tmp_path):
    tool = systemd.release_tool()
    for version in ("v1", "v2", "v3", "v4", "v5"):
        fake_release(tmp_path, version)
    go_live(tmp_path, "v1", "v5", "v4", "v2")  # v2 live, v4 the rollback target, v1 the oldest build
    releases = tool.Releases(tool.parser().parse_args(["--home", str(tmp_path), "--keep", "2", "list"]))
    releases.prune()
    assert sorted(path.name for path in (tmp_path / "releases").iterdir()) == ["v2", "v4"]


def test_keep_below_two_is_refused(tmp_path):
    result = run_tool(tmp_path, "--keep", "1", "list")
    assert result.returncode == 2 and "--keep must be 2 or more" in one_line(result)


# THE MIGRATIONS RULE, against PostgreSQL


@pytest.fixture
def production(tmp_path, settings) -> Path:
    """An env file for production settings on a scratch database migrated by the working tree."""
    from harness.postgres import Cluster

    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("the postgres tier runs this")
    server = Cluster.from_settings(database)
    name = f"folio_release_{tmp_path.name[-20:].lower().replace('-', '_')}"
    server.create_database(name)
    env_file = tmp_path / "folio.env"
    env_file.write_text(
        "DJANGO_SETTINGS_MODULE=config.settings.production\n"
        f"DJANGO_SECRET_KEY={STRONG_SECRET}\nDATABASE_URL={server.url(name)}\nALLOWED_HOSTS=folio.test\n"
        f"STATIC_ROOT={tmp_path / 'static'}\n"
    )
    migrated = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=clean_env(**dict(line.split("=", 1) for line in env_file.read_text().splitlines())),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert migrated.returncode == 0, migrated.stderr
    yield env_file
    server.drop_database(name)


@pytest.mark.postgres
def newest_migration(app: str) -> Path:
    return max((ROOT / "apps" / app / "migrations").glob("0*.py"))


def test_rollback_below_the_applied_migrations_is_refused_naming_them(tmp_path, production):
    home = tmp_path / "home"
    # v1: this tree less the newest migration of two apps, which v2 has applied.
    newest = [newest_migration("content"), newest_migration("core")]
    fake_release(home, "v1", without=tuple(str(path.relative_to(ROOT)) for path in newest))
    fake_release(home, "v2")
    go_live(home, "v1", "v2")

    refused = run_tool(home, "rollback", env_file=production)

    assert refused.returncode == 1
    line = one_line(refused)
    assert "refusing to roll back to v1" in line
    assert f"content.{newest[0].stem}" in line and f"core.{newest[1].stem}" in line
    assert "forward-only" in line
    assert (home / "current").readlink() == Path("releases/v2"), "nothing switched"


@pytest.mark.postgres
def test_rollback_to_a_release_with_every_applied_migration_switches(tmp_path, production):
    home = tmp_path / "home"
    fake_release(home, "v1")
    fake_release(home, "v2")
    go_live(home, "v1", "v2")

    result = run_tool(home, "rollback", env_file=production)

    assert result.returncode == 0, result.stderr
    assert (home / "current").readlink() == Path("releases/v1")
    assert (tmp_path / "static" / "staticfiles.json").is_file(), "v1's collectstatic ran before the switch"
    assert (home / "release-history").read_text().splitlines()[-1].endswith(" v1")
    listed = run_tool(home, "list").stdout.splitlines()
    assert [line.split()[:2] for line in listed] == [["v2", "built"], ["*", "v1"]]
