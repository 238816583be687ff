"""0006 adds the cover the safe way: a nullable column with no default, a catalogue-only change in PostgreSQL."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command


@pytest.mark.postgres
@pytest.mark.django_db
def test_cover_migration_adds_a_nullable_column_without_a_default():
    out = io.StringIO()
    call_command("sqlmigrate", "content", "0006", stdout=out)
    sql = out.getvalue()

    assert 'ADD COLUMN "cover" varchar(100) NULL' in sql
    assert "DEFAULT" not in sql.upper()
    assert "UPDATE" not in sql.upper()
