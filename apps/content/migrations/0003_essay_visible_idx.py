from django.db import migrations, models

from apps.core.dbops.migration_operations import AddIndexConcurrentlyOnPostgres


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [
        ("content", "0002_essay_published_at"),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="essay",
            index=models.Index(fields=["status", "published_at"], name="essay_visible_idx"),
        ),
    ]
