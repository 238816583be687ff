"""Render stored essay HTML again where it is out of date (apps/content/stored_rendering.py)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from apps.content import stored_rendering
from apps.content.models import Essay


class Command(BaseCommand):
    help = (
        "Render again every essay whose stored HTML is missing or made by another renderer; the schedule runs this "
        "as render_essays. --all also reads every body, for bodies written without save() (SQL, QuerySet.update)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--all", action="store_true", help="Compare every essay's body with its stored HTML.")

    def handle(self, *args, **options) -> None:
        written = stored_rendering.refresh(Essay, every_row=options["all"])
        self.stdout.write(f"Rendered {written} essay{'' if written == 1 else 's'} again.")
