from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel(
            name="Pet",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=50)),
                ("nickname", models.CharField(max_length=50, blank=True)),
                ("age", models.CharField(max_length=3, blank=True)),
                ("colour", models.CharField(max_length=20, blank=True)),
                ("tag", models.CharField(max_length=20, blank=True)),
            ],
        ),
        migrations.CreateModel(
            name="Toy",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID"))
            ],
        ),
        migrations.CreateModel(
            name="Owner",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID"))
            ],
        ),
    ]
