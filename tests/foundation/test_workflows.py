"""The GitHub workflows an adopter copies: valid by actionlint, and every make target they call exists."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from harness.project import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
PRE_COMMIT = ROOT / ".pre-commit-config.yaml"
# make's options that take the next word as their argument (`make -C /srv/folio/app release`).
OPTIONS_WITH_ARGUMENT = {"-C", "-f", "-I", "-j", "-l", "-o", "-W", "--directory", "--file", "--makefile"}
SHELL_BREAKS = {";", "&&", "||", "|", ")", "&"}


def make_targets(makefile_text: str) -> set[str]:
    """Targets the Makefile defines: `name:` or `a b:` at the start of a line, never `NAME := value`."""
    targets: set[str] = set()
    for line in makefile_text.splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-/$() ]+?)\s*:(?![=:])", line)
        if match and not line.startswith(("\t", "#")):
            targets |= {name for name in match.group(1).split() if not name.startswith((".", "$"))}
    return targets


def make_calls(script: str) -> Iterator[str]:
    """The targets each `make …` in a shell script asks for (options, VAR=value and the shell around skipped)."""
    for line in script.splitlines():
        if line.lstrip().startswith("#"):
            continue
        for start in re.finditer(r"(?<![\w/.-])make(?=\s)", line):
            words = shlex.split(line[start.end() :].replace(";", " ; "), comments=True, posix=True)
            skip_next = False
            for word in words:
                if skip_next:
                    skip_next = False
                elif word in SHELL_BREAKS or word.startswith(("$(", "`")):
                    break
                elif word in OPTIONS_WITH_ARGUMENT:
                    skip_next = True
                elif word.startswith("-") or "=" in word:
                    continue
                else:
                    yield word


def scripts_in(value: object) -> Iterator[str]:
    """Every `run:` script of a workflow and every `entry:` of a pre-commit hook, however deeply nested."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in {"run", "entry"} and isinstance(item, str):
                yield item
            else:
                yield from scripts_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from scripts_in(item)


def missing_targets(config_files: list[Path], makefile_text: str) -> dict[str, set[str]]:
    """For each file, the make targets it calls that the Makefile does not define."""
    defined = make_targets(makefile_text)
    missing: dict[str, set[str]] = {}
    for path in config_files:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        called = {target for script in scripts_in(document) for target in make_calls(script)}
        if called - defined:
            missing[path.name] = called - defined
    return missing


def workflow_make_calls(path: Path, job: str) -> list[str]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [target for script in scripts_in(document["jobs"][job]) for target in make_calls(script)]


def test_there_are_workflows_for_ci_release_and_both_deploys():
    assert {path.name for path in WORKFLOWS} >= {"ci.yml", "release.yml", "vercel.yml", "deploy-vm.yml"}


def test_actionlint_finds_nothing_in_the_workflows():
    actionlint = shutil.which("actionlint", path=str(ROOT / ".venv" / "bin")) or shutil.which("actionlint")
    assert actionlint, "actionlint is missing: it is in the dev group, `make install` installs it"
    result = subprocess.run(
        [actionlint, "-no-color", *map(str, WORKFLOWS)], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_reports_a_broken_workflow(tmp_path):
    # The control: the same call fails on an expression that reads an undefined context.
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ nope.value }}\n"
    )
    actionlint = shutil.which("actionlint", path=str(ROOT / ".venv" / "bin")) or shutil.which("actionlint")
    result = subprocess.run([actionlint, "-no-color", str(broken)], capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert "nope" in result.stdout


def test_every_make_target_the_workflows_and_hooks_call_exists():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert missing_targets([*WORKFLOWS, PRE_COMMIT], makefile) == {}


def test_the_check_catches_a_renamed_target():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    renamed = re.sub(r"^lock-check:", "lock-verify:", makefile, flags=re.MULTILINE)
    assert renamed != makefile
    missing = missing_targets([*WORKFLOWS, PRE_COMMIT], renamed)
    assert missing == {"ci.yml": {"lock-check"}, ".pre-commit-config.yaml": {"lock-check"}}


@pytest.mark.parametrize(
    ("line", "targets"),
    [
        ("make lint", ["lint"]),
        ("make test TEST_DATABASE_URL=postgres://x/y", ["test"]),
        ("sudo make -C /srv/folio/app release", ["release"]),
        ("make -j2 lint test && echo done", ["lint", "test"]),
        ("cmake --build . ; make_env.py x", []),
        ("echo make it so; make install", ["it", "so", "install"]),
        ("# comment: the full `make bench`", []),
    ],
)
def test_make_calls_reads_targets_the_way_make_would(line, targets):
    # `echo make it so` is a false positive the check accepts: it fails loudly, never silently.
    assert list(make_calls(line)) == targets


def test_ci_workflow_runs_the_make_targets_ci_run_runs():
    ci_run = list(make_calls((ROOT / ".ci" / "run").read_text(encoding="utf-8")))
    assert ci_run, ".ci/run calls no make target?"
    assert set(ci_run) <= set(workflow_make_calls(ROOT / ".github" / "workflows" / "ci.yml", "test"))


def test_ci_workflow_has_postgres_and_redis_on_the_ports_the_tests_use():
    job = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8"))["jobs"]["test"]
    assert job["services"]["postgres"]["ports"] == ["5432:5432"]
    assert job["services"]["redis"]["ports"] == ["6379:6379"]


def test_vercel_workflow_migrates_after_the_build_and_before_the_deploy_and_promote():
    document = yaml.safe_load((ROOT / ".github" / "workflows" / "vercel.yml").read_text(encoding="utf-8"))
    steps = "\n".join(step.get("run", "") for step in document["jobs"]["deploy"]["steps"])
    order = ["vercel build", "manage.py migrate", "vercel deploy --prebuilt", "vercel promote"]
    positions = [steps.find(command) for command in order]
    assert -1 not in positions, dict(zip(order, positions, strict=True))
    assert positions == sorted(positions), dict(zip(order, positions, strict=True))


def test_make_release_and_rollback_run_the_release_tool_with_the_vm_layout():
    # deploy-vm.yml runs `make release` on the server; `make -n` prints the commands without running them. The order
    # of the steps is deploy/vm/release.py's (tests/docker/test_vm_releases.py runs it under systemd).
    def dry_run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["make", "-n", *args], cwd=ROOT, capture_output=True, text=True, check=False)

    tool = "python3 deploy/vm/release.py --home /srv/folio --user folio --env-file /etc/folio/folio.env"
    assert f"{tool} release v1.5.0 ." in dry_run("release", "VERSION=v1.5.0").stdout
    assert (
        f"{tool} release v1.5.0 /tmp/folio.tar.gz"
        in dry_run("release", "VERSION=v1.5.0", "SOURCE=/tmp/folio.tar.gz").stdout
    )
    assert f"{tool} rollback" in dry_run("rollback").stdout
    unnamed = dry_run("release")
    assert unnamed.returncode != 0 and "VERSION=... names the release" in unnamed.stderr
