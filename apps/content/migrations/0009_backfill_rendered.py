"""Backfill: render every essay written before 0008 and store it, in short batches (apps/content/stored_rendering.py).
Pages are right before, during and after it: a row without a current rendering renders its body itself."""

from django.db import migrations

from apps.content import stored_rendering


def fill(apps, schema_editor):
    stored_rendering.refresh(apps.get_model("content", "Essay"), using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    # Each batch commits on its own; one transaction over every essay would hold their locks to the end.
    atomic = False
    dependencies = [
        ("content", "0008_essay_rendered"),
    ]

    operations = [
        # Backwards there is nothing to undo: 0008's reverse drops the columns.
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=False),
    ]
