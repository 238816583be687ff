"""The README's first set-up command, `make run`: migrations, the demo essays and a development server on SQLite."""

from __future__ import annotations

import re
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest

from harness.ports import free_port
from harness.processes import read_log, stop_process_group, wait_until_ready
from harness.project import ROOT, clean_env

START_TIMEOUT = 90.0


def get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - a loopback URL built here
        return response.status, response.read().decode()


def test_make_run_serves_the_demo_essays_on_sqlite(tmp_path: Path):
    make = shutil.which("make")
    if make is None:
        pytest.fail("make is not installed; the README's set-up commands need it")
    address = f"127.0.0.1:{free_port()}"
    # A SQLite file of the test's own: the developer's db.sqlite3 is left alone. Development settings, no .env.
    env = clean_env(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    with (tmp_path / "run.log").open("w") as log:
        server = subprocess.Popen(
            [make, "--no-print-directory", "run", f"RUN_ADDRESS={address}"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # runserver's autoreloader forks; the whole group is stopped below
        )
    answers: list[tuple[int, str]] = []

    def serving() -> bool:
        try:
            answers.append(get(f"http://{address}/"))
        except OSError:
            return False
        return True

    try:
        wait_until_ready(
            server,
            serving,
            what=f"make run on {address}",
            timeout=START_TIMEOUT,
            interval=0.5,
            log=read_log(tmp_path / "run.log"),
        )
        status, page = answers[0]
        assert status == 200
        assert len(set(re.findall(r'href="(/essays/[^"/]+/)"', page))) == 10  # the first page of the dozen
        assert get(f"http://{address}/feed/")[0] == 200
        assert "12 created" in (tmp_path / "run.log").read_text()
    finally:
        stop_process_group(server, grace=30)
