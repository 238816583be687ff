"""0008, the stored rendering's expand: catalogue-only columns the release still serving never notices."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command


@pytest.mark.postgres
@pytest.mark.django_db
def test_0008_adds_nullable_columns_without_a_default():
    out = io.StringIO()
    call_command("sqlmigrate", "content", "0008", stdout=out)
    sql = out.getvalue().upper()

    assert sql.count("ADD COLUMN") == 4
    assert sql.count(" NULL;") == 4
    assert "DEFAULT" not in sql and "UPDATE" not in sql
