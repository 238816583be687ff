from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("unsafe_app", "0001_initial")]
    operations = [
        # Old code inserting rows without `weight` fails the moment this lands.
        migrations.AddField("pet", "weight", models.IntegerField(), preserve_default=False),
    ]
