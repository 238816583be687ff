from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("content", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="essay",
            name="published_at",
            field=models.DateTimeField(
                blank=True, null=True, help_text="Visible from this moment on when published; may lie in the future."
            ),
        ),
        migrations.AlterModelOptions(name="essay", options={"ordering": ["-published_at", "-id"]}),
    ]
