"""Backfill: count the words of every essay written before 0004, in short batches (see apps/content/backfill.py)."""

from django.db import migrations

from apps.content import backfill


def fill(apps, schema_editor):
    backfill.fill_word_counts(schema_editor.connection)


def clear(apps, schema_editor):
    backfill.clear_word_counts(schema_editor.connection)


class Migration(migrations.Migration):
    # Each batch commits on its own; one transaction over a million rows would hold their locks to the end.
    atomic = False

    dependencies = [
        ("content", "0004_add_word_count"),
    ]

    operations = [
        migrations.RunPython(fill, clear, elidable=False),
    ]
