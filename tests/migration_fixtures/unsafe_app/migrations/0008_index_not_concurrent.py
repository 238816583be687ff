from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("unsafe_app", "0007_column_type_change")]
    operations = [migrations.AddIndex("pet", models.Index(fields=["name"], name="pet_name_idx"))]
