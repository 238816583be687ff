from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("unsafe_app", "0003_drop_column")]
    operations = [migrations.RenameField("pet", "nickname", "alias")]
