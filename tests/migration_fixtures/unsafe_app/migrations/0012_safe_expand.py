from django.db import migrations, models


def noop(apps, schema_editor):
    """Nothing to undo: the forward step only fills a column the reverse step drops."""


def fill(apps, schema_editor):
    apps.get_model("unsafe_app", "Pet").objects.filter(note__isnull=True).update(note="")


class Migration(migrations.Migration):
    """The control: what the linter must let through (nullable column, reversible backfill)."""

    dependencies = [("unsafe_app", "0011_irreversible_runsql")]
    operations = [
        migrations.AddField("pet", "note", models.TextField(null=True, blank=True)),
        migrations.RunPython(fill, noop),
        migrations.RunSQL("UPDATE unsafe_app_pet SET note = '' WHERE note IS NULL", migrations.RunSQL.noop),
    ]
