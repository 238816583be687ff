"""Writes to essays go through these functions; views and commands stay thin."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from apps.users.models import User

from .models import Essay


@transaction.atomic
def essay_upsert(
    *, slug: str, title: str, body: str, author: User, status: str, published_at: datetime | None
) -> tuple[Essay, bool]:
    """Create the essay with this slug, or bring an existing one up to date; True when it was created."""
    essay, created = Essay.objects.select_for_update().get_or_create(
        slug=slug,
        defaults={
            "title": title,
            "body": body,
            "author": author,
            "status": status,
            "published_at": published_at,
        },
    )
    if not created:
        essay.title, essay.body, essay.status, essay.published_at = title, body, status, published_at
        essay.save()
    return essay, created
