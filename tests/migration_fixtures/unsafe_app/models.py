"""The state the fixture migrations end in, so `makemigrations --check` sees nothing to do."""

from django.db import models


class Pet(models.Model):
    name = models.CharField(max_length=50)
    alias = models.CharField(max_length=50, blank=True)
    age = models.TextField(blank=True)
    tag = models.CharField(max_length=20, blank=True)
    weight = models.IntegerField()
    note = models.TextField(null=True, blank=True)  # noqa: DJ001 - nullable on purpose: the safe expand step

    class Meta:
        indexes = [models.Index(fields=["name"], name="pet_name_idx")]
        constraints = [models.UniqueConstraint(fields=["tag"], name="pet_tag_unique")]

    def __str__(self) -> str:
        return self.name


class Owner(models.Model):
    class Meta:
        db_table = "unsafe_app_keeper"

    def __str__(self) -> str:
        return str(self.pk)
