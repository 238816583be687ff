from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("unsafe_app", "0006_rename_table")]
    operations = [migrations.AlterField("pet", "age", models.TextField(blank=True))]
