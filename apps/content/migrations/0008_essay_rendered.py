"""Expand: the columns an essay's stored rendering lives in (apps/content/rendering.py), all nullable and without
a default, so adding them is a change to the catalogue only and the release still serving never notices them."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("content", "0007_page_generation"),
    ]

    operations = [
        migrations.AddField(
            model_name="essay",
            name="rendered_html",
            field=models.TextField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="essay",
            name="rendered_excerpt",
            field=models.TextField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="essay",
            name="rendered_from",
            field=models.CharField(blank=True, editable=False, max_length=64, null=True),
        ),
        migrations.AddField(
            model_name="essay",
            name="rendered_with",
            field=models.CharField(blank=True, editable=False, max_length=64, null=True),
        ),
    ]
