from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("unsafe_app", "0002_not_null_column_without_default")]
    operations = [migrations.RemoveField("pet", "colour")]
