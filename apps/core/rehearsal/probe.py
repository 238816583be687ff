"""Questions asked *inside* a release: run by that release's own interpreter, from its worktree, with its settings.

    <release python> <this file> state     → JSON on stdout: models, columns, admin models, URL paths, …
    <release python> <this file> derived   ← JSON [[label, pk], …] on stdin → JSON problems on stdout

This file is executed by path, never imported by the release, so it may use only Django's public API (whatever
version the release pins) and nothing of the current tree. (The rehearsing tree imports it for `rehearsal_modules`,
to find its own apps' traffic hooks the same way.) A release is "the project's code at some commit": its own apps
are the ones whose code lives under its worktree.
"""

import json
import os
import re
import sys
from pathlib import Path


def _setup():
    root = Path.cwd().resolve()
    sys.path.insert(0, str(root))
    import django

    django.setup()
    return root


def _project_apps(root):
    from django.apps import apps

    return [config for config in apps.get_app_configs() if Path(config.path).resolve().is_relative_to(root)]


def _models(configs):
    found = []
    for config in configs:
        for model in config.get_models(include_auto_created=True):
            if model._meta.proxy or not model._meta.managed:
                continue
            found.append(
                {
                    "label": model._meta.label,
                    "table": model._meta.db_table,
                    "columns": sorted(field.column for field in model._meta.local_concrete_fields),
                }
            )
    return found


def _pending_changes(configs):
    """Model changes without a migration, per app: the release would run against a schema it does not describe."""
    from django.apps import apps
    from django.db.migrations.autodetector import MigrationAutodetector
    from django.db.migrations.loader import MigrationLoader
    from django.db.migrations.state import ProjectState

    loader = MigrationLoader(None, ignore_no_migrations=True)
    changes = MigrationAutodetector(loader.project_state(), ProjectState.from_apps(apps)).changes(graph=loader.graph)
    labels = {config.label for config in configs}
    return {
        label: [str(operation.describe()) for migration in migrations for operation in migration.operations]
        for label, migrations in changes.items()
        if label in labels
    }


def _plain_paths(patterns, prefix=""):
    """Paths of URL patterns that take no argument (the pages a reader can reach without knowing an id)."""
    from django.urls import URLPattern, URLResolver

    paths = []
    for entry in patterns:
        route = str(entry.pattern)
        if entry.pattern.regex.groups or "<" in route:
            continue
        route = route.lstrip("^").rstrip("$").replace("\\", "")
        if re.search(r"[][()*+?|{}]", route):
            continue
        if isinstance(entry, URLResolver):
            if getattr(entry, "app_name", None) == "admin":
                continue  # the admin is written through, logged in, by the write traffic
            paths += _plain_paths(entry.url_patterns, prefix + route)
        elif isinstance(entry, URLPattern):
            paths.append("/" + prefix + route)
    return sorted(set(paths))


def _admin_models(configs):
    from django.contrib import admin
    from django.urls import reverse

    labels = {config.label for config in configs}
    return [
        {"label": model._meta.label, "add": reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_add")}
        for model in admin.site._registry
        if model._meta.app_label in labels
    ]


def rehearsal_modules(configs):
    """Each app's `rehearsal` module, what it tells `manage.py rehearse` (also asked by apps/core/rehearsal/traffic.py
    in the tree the rehearsal runs from); an app without one is skipped, an error inside one is raised."""
    import importlib

    for config in configs:
        try:
            yield importlib.import_module(f"{config.name}.rehearsal")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.rehearsal":
                raise


def _derived_fields(configs):
    """`<app>.rehearsal.DERIVED_FIELDS`: {"app.Model": ["field", …]}, the columns the release computes on save and
    guarantees for every row (declared by the release that completes them, e.g. the one carrying the backfill)."""
    declared = {}
    for module in rehearsal_modules(configs):
        declared.update(getattr(module, "DERIVED_FIELDS", {}))
    return declared


def state():
    root = _setup()
    from django.urls import get_resolver

    configs = _project_apps(root)
    return {
        "apps": [config.label for config in configs],
        "models": _models(configs),
        "pending_changes": _pending_changes(configs),
        "paths": _plain_paths(get_resolver().url_patterns),
        "admin_models": _admin_models(configs),
        "derived": _derived_fields(configs),
    }


def derived(rows):
    """For each written row: gone, or a declared derived field that differs from what this release's save() would
    store (the save runs in a transaction rolled back at once)."""
    root = _setup()
    from django.apps import apps
    from django.db import transaction

    declared = _derived_fields(_project_apps(root))
    problems = []
    for label, pk in rows:
        model = apps.get_model(label)
        stored = model._default_manager.filter(pk=pk).first()
        if stored is None:
            problems.append({"model": label, "pk": pk, "field": None, "stored": None, "expected": "the row"})
            continue
        fields = declared.get(label, [])
        if not fields:
            continue
        before = {name: getattr(stored, name) for name in fields}
        with transaction.atomic():
            stored.save()
            after = {name: getattr(stored, name) for name in fields}
            transaction.set_rollback(True)
        for name in fields:
            if before[name] != after[name]:
                problems.append(
                    {"model": label, "pk": pk, "field": name, "stored": before[name], "expected": after[name]}
                )
    return problems


if __name__ == "__main__":
    mode = sys.argv[1]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
    result = state() if mode == "state" else derived(json.load(sys.stdin))
    json.dump(result, sys.stdout, default=str)
