"""Expand: an optional cover image. Nullable with no default, so PostgreSQL only edits the catalogue (no rewrite,
no long lock) and code that predates the column keeps inserting rows."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("content", "0005_backfill_word_count"),
    ]

    operations = [
        migrations.AddField(
            model_name="essay",
            name="cover",
            field=models.ImageField(blank=True, null=True, upload_to="covers/%Y/%m/"),
        ),
    ]
