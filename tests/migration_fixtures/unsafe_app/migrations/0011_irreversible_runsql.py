from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("unsafe_app", "0010_irreversible_runpython")]
    operations = [migrations.RunSQL("UPDATE unsafe_app_pet SET tag = upper(tag)")]
