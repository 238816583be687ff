from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("unsafe_app", "0005_drop_table")]
    operations = [migrations.AlterModelTable("owner", "unsafe_app_keeper")]
