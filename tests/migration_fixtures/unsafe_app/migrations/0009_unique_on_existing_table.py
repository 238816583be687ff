from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("unsafe_app", "0008_index_not_concurrent")]
    operations = [migrations.AddConstraint("pet", models.UniqueConstraint(fields=["tag"], name="pet_tag_unique"))]
