from django.db import migrations, models


class Migration(migrations.Migration):
    """Expand: a nullable column is a catalogue-only change on PostgreSQL, with no table rewrite."""

    dependencies = [
        ("content", "0003_essay_visible_idx"),
    ]

    operations = [
        migrations.AddField(
            model_name="essay",
            name="word_count",
            field=models.PositiveIntegerField(blank=True, editable=False, null=True),
        ),
    ]
