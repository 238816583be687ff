from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("unsafe_app", "0004_rename_column")]
    operations = [migrations.DeleteModel("Toy")]
