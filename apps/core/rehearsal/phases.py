"""The rehearsal in the order of a real rolling deploy: the previous release serves under traffic; the next
release's migrations run; the next release starts beside it and traffic is split; the previous one stops. Every
scratch database, worktree and server is removed on the way out, whatever happened (Ctrl-C included)."""

from __future__ import annotations

import contextlib
import json
import secrets
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError

from apps.core.dbops import backups

from . import precheck, releases, scratch, servers
from .errors import RehearsalError
from .migration import MigrateRun, migrate
from .report import PHASES, Report, failure_kind, traceback_for
from .traffic import Routing, Traffic, project_hooks, read_back, readable, sitemap_paths, write_problem

PROBE = Path(__file__).with_name("probe.py")
EDITOR = "rehearsal-editor"
# Each phase lasts at least this long and until every serving release has taken writes; a bound, so a release
# that never answers ends the phase instead of the rehearsal hanging.
PHASE_LIMIT = 300.0
DRAIN = 30.0


@dataclass
class Options:
    repo: Path
    previous: str
    next: str | None = None
    allow_dirty: bool = False
    database: str | None = None  # an existing database's name on the server; never dropped
    rows: int = 0
    phase_seconds: float = 5.0
    max_wait: float = 1.0
    env_files: dict[str, Path] = field(default_factory=dict)
    precheck_only: bool = False
    from_dump: Path | None = None  # a `make backup` dump to start from instead of the demo essays
    apps: list[str] = field(default_factory=list)  # app labels to write through the admin; empty: all of them


@dataclass
class Stage:
    """What is built up for the rehearsal; everything in it is torn down by the ExitStack."""

    options: Options
    server: scratch.Server
    workdir: Path
    stack: contextlib.ExitStack
    secret: str = field(default_factory=lambda: "rehearse-" + secrets.token_urlsafe(40))
    database: str = ""


def _release(stage: Stage, role: str, ref: str | None) -> releases.Release:
    repo = stage.options.repo
    if ref is None:
        if not stage.options.allow_dirty and (changes := releases.dirty(repo)):
            raise RehearsalError(
                f"The working tree has {len(changes)} uncommitted change(s) (first: {changes[0].strip()}); commit "
                "them, or pass --next <ref>, or --allow-dirty to rehearse them as they are."
            )
        root, commit, ref = repo, releases.WORKING_TREE, releases.WORKING_TREE
    else:
        commit = releases.resolve(repo, ref)
        root = stage.stack.enter_context(releases.worktree(repo, commit, into=stage.workdir / f"{role}-tree"))
    # This interpreter was installed from the lock of the project running the command, whatever --repo names.
    python = releases.venv_for(root, Path(settings.BASE_DIR))
    return releases.Release(role=role, ref=ref, commit=commit, root=root, python=python)


def _env(stage: Stage, release: releases.Release, database: str) -> dict[str, str]:
    """What the release requires, as its own `.env.example` gives it (each release its own: a variable the next
    release adds comes with it), under the rehearsal's database, secret and paths, under `--<role>-env-file`."""
    extra = {}
    if release.role in stage.options.env_files:
        extra = servers.read_env_file(stage.options.env_files[release.role])
    workdir = stage.workdir / release.role
    workdir.mkdir(exist_ok=True)
    return servers.release_env(
        database_url=stage.server.url(database),
        secret=stage.secret,
        workdir=workdir,
        example=servers.example_env(release.root),
        extra=extra,
    )


def _probe_state(release: releases.Release, env: dict[str, str]) -> dict[str, Any]:
    return json.loads(servers.run_python(release, env, PROBE, "state"))


def _check_previous(release: releases.Release, state: dict[str, Any]) -> None:
    pending = {label: changes for label, changes in state["pending_changes"].items() if changes}
    if pending:
        label, changes = next(iter(pending.items()))
        raise RehearsalError(
            f"The previous release ({release.ref}) has model changes without a migration in {label} "
            f"({changes[0]}, …): it cannot have been deployed as it is; rehearse from the ref that was."
        )


def _precheck(stage: Stage, next_release: releases.Release, previous_state: dict[str, Any]) -> list[str]:
    """The next release's migrations on a copy of the previous release's database (empty, or the dump's rows),
    compared with the old models."""
    with stage.server.scratch(purpose="precheck", template=stage.database) as copy:
        servers.manage(next_release, _env(stage, next_release, copy), "migrate", "--noinput")
        with stage.server.connect(copy) as connection:
            after = precheck.schema(connection)
    return precheck.findings(previous_state["models"], after)


def _fill(stage: Stage, previous: releases.Release, env: dict[str, str]) -> None:
    seed = previous.root / "apps/content/management/commands/seed_demo.py"
    if not stage.options.from_dump and seed.exists():
        servers.manage(previous, env, "seed_demo")
    servers.manage(
        previous,
        {**env, "DJANGO_SUPERUSER_PASSWORD": stage.secret},
        "createsuperuser",
        "--noinput",
        "--username",
        EDITOR,
        "--email",
        "rehearsal@example.org",
    )
    with stage.server.connect(stage.database) as connection:
        author = (
            "folio-editor"
            if connection.execute("SELECT 1 FROM users_user WHERE username = 'folio-editor'").fetchone()
            else EDITOR
        )
        scratch.generate_essays(connection, stage.options.rows, author=author)


def _run_phase(traffic: Traffic, phase: str, roles: list[str], seconds: float) -> None:
    """Until `seconds` have passed and a write was sent to every serving release (when there are writable models)."""
    started = time.monotonic()
    while time.monotonic() - started < PHASE_LIMIT:
        enough_time = time.monotonic() - started >= seconds
        writable = len(traffic.skipped) < len(traffic.admin_models)
        written = not writable or all(traffic.posts_in(phase, role) for role in roles)
        if enough_time and written:
            return
        time.sleep(0.1)


def rehearse(options: Options) -> Report:
    began = time.monotonic()
    server = scratch.Server.from_settings(settings.DATABASES["default"])
    server.connect().close()  # no PostgreSQL: one line, before anything is made
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="folio-rehearse-")))
        stage = Stage(options=options, server=server, workdir=workdir, stack=stack)
        previous = _release(stage, "previous", options.previous)
        next_release = _release(stage, "next", options.next)
        if options.database:
            stage.database = options.database
        else:
            stage.database = stack.enter_context(server.scratch())
        env = {role: _env(stage, release, stage.database) for role, release in
               (("previous", previous), ("next", next_release))}  # fmt: skip

        previous_state = _probe_state(previous, env["previous"])
        _check_previous(previous, previous_state)
        if options.from_dump:
            try:
                backups.restore(options.from_dump, database=server.entry(stage.database))
            except CommandError as exc:
                raise RehearsalError(f"--from-dump: {exc}") from None
        if unknown := set(options.apps) - set(previous_state["apps"]):
            raise RehearsalError(f"--apps names {', '.join(sorted(unknown))}, not apps of the previous release "
                                 f"({', '.join(previous_state['apps'])}).")  # fmt: skip
        servers.manage(previous, env["previous"], "migrate", "--noinput")
        report = Report(
            previous={"ref": previous.ref, "commit": previous.commit},
            next={"ref": next_release.ref, "commit": next_release.commit},
            rows=options.rows,
            max_wait=options.max_wait,
        )
        report.precheck = _precheck(stage, next_release, previous_state)
        if report.precheck:
            report.problems.append(f"the pre-check found {len(report.precheck)} problem(s)")
        if options.precheck_only:
            report.seconds = time.monotonic() - began
            return report
        for release in (previous, next_release):
            servers.manage(release, env[release.role], "collectstatic", "--noinput")
        _fill(stage, previous, env["previous"])
        with server.connect(stage.database) as connection:
            report.essays = connection.execute("SELECT count(*) FROM content_essay").fetchone()[0]
        _serve_and_deploy(stage, report, previous, next_release, env, previous_state)
        report.seconds = time.monotonic() - began
        return report


def _serve_and_deploy(
    stage: Stage,
    report: Report,
    previous: releases.Release,
    next_release: releases.Release,
    env: dict[str, dict[str, str]],
    previous_state: dict[str, Any],
) -> None:
    seconds = stage.options.phase_seconds
    old = stage.stack.enter_context(servers.gunicorn(previous, env["previous"], stage.workdir / "previous.log"))
    routing = Routing()
    routing.set("before", {"previous": old.base_url})
    paths = sorted(set(previous_state["paths"]) | set(sitemap_paths(old.base_url)))
    paths, report.unread = readable(old.base_url, paths)
    wanted = stage.options.apps or previous_state["apps"]
    writable = [model for model in previous_state["admin_models"] if model["label"].split(".")[0] in wanted]
    traffic = Traffic(routing=routing, read_paths=paths, admin_models=writable, token="r" + secrets.token_hex(3),
                      hooks=project_hooks(previous_state["apps"]))  # fmt: skip
    traffic.login(old.base_url, EDITOR, stage.secret)
    stage.stack.callback(traffic.stop)
    traffic.start()
    _run_phase(traffic, "before", ["previous"], seconds)

    routing.set("migrate", {"previous": old.base_url})
    run = migrate(next_release, env["next"], stage.server, stage.database)
    new = None
    if run.returncode == 0:
        new = stage.stack.enter_context(servers.gunicorn(next_release, env["next"], stage.workdir / "next.log"))
        routing.set("both", {"previous": old.base_url, "next": new.base_url})
        _run_phase(traffic, "both", ["previous", "next"], seconds)
        routing.set("next", {"next": new.base_url})
        routing.drained("previous", within=DRAIN)
        old.stop()
        _run_phase(traffic, "next", ["next"], seconds)
    traffic.stop()
    _report_migrate(report, run, traffic)
    _report_traffic(report, traffic, {"previous": old, **({"next": new} if new else {})})
    if new is not None:
        _report_writes(report, traffic, new, next_release, env["next"])


def _report_migrate(report: Report, run: MigrateRun, traffic: Traffic) -> None:
    for applied in run.applied:
        locks = [lock.as_dict() for lock in applied.locks.values()]
        report.migrations.append({"name": applied.name, "seconds": applied.seconds or 0.0, "locks": locks})
        for lock in locks:
            if lock["blocks_writes"] and lock["held_seconds"] >= report.max_wait:
                waits = [r.seconds for r in traffic.results if r.request.startswith("POST")
                         and lock["from"] <= r.at and r.at - r.seconds <= lock["until"]]  # fmt: skip
                report.long_locks.append({"migration": applied.name, **lock, "write_wait": max(waits, default=0.0)})
    if report.long_locks:
        report.problems.append(f"{len(report.long_locks)} long lock(s) that make writes wait")
    if run.returncode != 0:
        lines = [line for line in run.output.strip().splitlines() if line.strip()]
        errors = [line for line in lines if "Error" in line or "canceling statement" in line]
        failed = run.applied[-1] if run.applied else None
        report.migrate_failure = {
            "migration": failed.name if failed else "",
            "error": (errors or lines or ["no output"])[-1],
            "blocked_by": failed.waited_on if failed else "",
            "output": "\n".join(lines[-30:]),
        }
        report.problems.append(f"the next release's migrate failed ({report.migrate_failure['error']})")


def _report_traffic(report: Report, traffic: Traffic, served: dict[str, servers.Server]) -> None:
    succeeded_before = {r.request for r in traffic.results if r.phase == "before" and r.status and r.status < 400}
    logs = {role: server.log_text() for role, server in served.items()}
    failed = 0
    slowest = 0.0
    for phase in PHASES:
        for role in ("previous", "next"):
            results = [r for r in traffic.results if r.phase == phase and r.release == role]
            if not results:
                continue
            counts: dict[str, int] = {}
            first: dict[str, dict[str, Any]] = {}
            for result in results:
                kind = failure_kind(result, succeeded_before)
                if kind is None:
                    continue
                counts[kind] = counts.get(kind, 0) + 1
                if kind not in first:
                    trace, error_line = traceback_for(logs.get(role, ""), result.path)
                    first[kind] = {"request": result.request, "path": result.path, "status": result.status,
                                   "error": result.error,
                                   "at": result.at, "traceback": trace, "error_line": error_line}  # fmt: skip
            waits = [r.seconds for r in results if r.request.startswith("POST")]
            longest = max(waits, default=0.0)
            slowest = max(slowest, longest)
            failed += sum(counts.values())
            report.phases.append(
                {
                    "phase": phase,
                    "release": role,
                    "requests": len(results),
                    "writes": traffic.writes_in(phase, role),
                    "failures": counts,
                    "first_failures": first,
                    "longest_write_wait": longest,
                }
            )
    report.skipped = dict(traffic.skipped)
    if failed:
        report.problems.append(f"{failed} failed request(s)")
    if slowest > report.max_wait:
        report.problems.append(f"a write waited {slowest:.2f} s (more than --max-wait {report.max_wait:g} s)")


def _report_writes(
    report: Report, traffic: Traffic, new: servers.Server, release: releases.Release, env: dict[str, str]
) -> None:
    problems = read_back(new.base_url, traffic.editor, traffic.writes)
    rows = sorted({(w.model, w.pk) for w in traffic.writes})
    last_write = {(w.model, w.pk): w for w in traffic.writes}
    for found in json.loads(servers.run_python(release, env, PROBE, "derived", stdin=json.dumps(rows))):
        write = last_write[(found["model"], str(found["pk"]))]
        if found["field"] is None:
            problems.append(write_problem(write, "lost"))
        else:
            problems.append(write_problem(write, "corrupted", field=found["field"], written=found["expected"],
                                          read=found["stored"]))  # fmt: skip
    lost = sum(1 for p in problems if p["kind"] == "lost")
    corrupted = sum(1 for p in problems if p["kind"] == "corrupted")
    report.writes = {"recorded": len(traffic.writes), "rows": len(rows), "lost": lost, "corrupted": corrupted,
                     "problems": problems}  # fmt: skip
    if lost or corrupted:
        report.problems.append(f"{lost} lost and {corrupted} corrupted write(s)")
