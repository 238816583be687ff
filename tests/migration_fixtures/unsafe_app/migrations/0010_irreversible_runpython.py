from django.db import migrations


def forwards(apps, schema_editor):
    apps.get_model("unsafe_app", "Pet").objects.filter(name="").update(name="unnamed")


class Migration(migrations.Migration):
    dependencies = [("unsafe_app", "0009_unique_on_existing_table")]
    operations = [migrations.RunPython(forwards)]
