"""Load the demo essays. Idempotent: run it again and the same dozen essays are there, updated in place."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from django.core.management.base import BaseCommand
from django.db import transaction

from apps.content.models import Essay
from apps.content.services import essay_upsert
from apps.users.models import User

DEMO_FILE = Path(__file__).resolve().parents[2] / "demo" / "essays.json"


class Command(BaseCommand):
    help = "Load a dozen demo essays (idempotent)."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        author, _ = User.objects.get_or_create(
            username="folio-editor", defaults={"first_name": "Folio", "last_name": "Editors"}
        )
        created = 0
        for entry in json.loads(DEMO_FILE.read_text(encoding="utf-8")):
            _, was_created = essay_upsert(
                slug=entry["slug"],
                title=entry["title"],
                body=entry["body"],
                author=author,
                status=Essay.Status.PUBLISHED,
                published_at=datetime.fromisoformat(entry["published_at"]),
            )
            created += was_created
        self.stdout.write(f"Demo essays: {created} created, {Essay.objects.count()} in total.")
