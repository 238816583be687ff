from __future__ import annotations

from django.contrib.auth.models import AbstractUser


class User(AbstractUser):
    """Folio's user, in place from the first migration: swapping the user model later is a painful migration."""

    class Meta:
        db_table = "users_user"
