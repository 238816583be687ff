"""0008 and 0009, the stored rendering's expand and backfill: catalogue-only columns, then every older essay rendered,
on SQLite and PostgreSQL."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from apps.content import rendering
from apps.content.models import Essay
from tests.migrations import both_databases, migrated_back_to

BEFORE = [("content", "0007_page_generation")]
AFTER = [("content", "0009_backfill_rendered")]
BODIES = {"plain": "Plain *words*.", "empty": "", "hostile": "Hi <script>alert(1)</script> **there**."}


@pytest.fixture
def migrator(transactional_db):
    """Content back at 0007 with essays written by that release; the schema left at the latest state."""
    with migrated_back_to(BEFORE) as executor:
        old = executor.loader.project_state(BEFORE).apps
        author = old.get_model("users", "User").objects.create(username="historian")
        for slug, body in BODIES.items():
            old.get_model("content", "Essay").objects.create(
                slug=slug, title=slug, body=body, author=author, published_at=timezone.now()
            )
        yield


@pytest.mark.postgres
@pytest.mark.django_db
def test_0008_adds_nullable_columns_without_a_default():
    out = io.StringIO()
    call_command("sqlmigrate", "content", "0008", stdout=out)
    sql = out.getvalue().upper()

    assert sql.count("ADD COLUMN") == 4
    assert sql.count(" NULL;") == 4
    assert "DEFAULT" not in sql and "UPDATE" not in sql


@both_databases
def test_0009_renders_every_older_essay_and_back_and_forth_again(migrator, vendor):
    assert connection.vendor == vendor
    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)

    for slug, body in BODIES.items():
        essay = Essay.objects.get(slug=slug)
        assert (essay.rendered_html, essay.rendered_excerpt, essay.rendered_from, essay.rendered_with) == (
            rendering.render_essay(body)
        ), slug
    assert "<script>" not in Essay.objects.get(slug="hostile").rendered_html

    MigrationExecutor(connection).migrate(BEFORE)
    with connection.cursor() as cursor:
        columns = {c.name for c in connection.introspection.get_table_description(cursor, "content_essay")}
    assert not {"rendered_html", "rendered_excerpt", "rendered_from", "rendered_with"} & columns
    MigrationExecutor(connection).migrate(AFTER)
    assert Essay.objects.exclude(rendered_with=rendering.RENDERER).count() == 0
