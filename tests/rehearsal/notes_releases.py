"""Releases of a small `notes` app on top of Folio, for a column rename (`Note.text` → `Note.body`) done two ways:
in one step, and in the reference's five steps (expand, write both, backfill, read the new one, contract), each
its own release; plus the contract step shipped before the code stopped reading the old column."""

from __future__ import annotations

from .fixture_repo import FixtureRepo

APP = {
    "apps/notes/__init__.py": "",
    "apps/notes/apps.py": (
        "from django.apps import AppConfig\n\n\n"
        "class NotesConfig(AppConfig):\n"
        '    name = "apps.notes"\n'
        '    default_auto_field = "django.db.models.BigAutoField"\n'
    ),
    "apps/notes/migrations/__init__.py": "",
    "apps/notes/urls.py": (
        "from django.urls import path\n\nfrom . import views\n\n"
        'urlpatterns = [path("notes/", views.notes, name="notes")]\n'
    ),
}


def _model(fields: str, save: str = "") -> str:
    return (
        "from django.db import models\n\n\n"
        "class Note(models.Model):\n"
        "    title = models.CharField(max_length=100)\n"
        f"{fields}"
        "\n    class Meta:\n"
        '        db_table = "notes_note"\n'
        f"{save}"
    )


def _admin(column: str) -> str:
    return (
        "from django.contrib import admin\n\nfrom .models import Note\n\n\n"
        "@admin.register(Note)\n"
        "class NoteAdmin(admin.ModelAdmin):\n"
        f'    list_display = ["title", "{column}"]\n'
    )


def _view(column: str) -> str:
    return (
        "from django.http import HttpResponse\n\nfrom .models import Note\n\n\n"
        "def notes(request):\n"
        f'    lines = [f"{{note.title}}: {{note.{column}}}" for note in Note.objects.order_by("-id")[:20]]\n'
        '    return HttpResponse("\\n".join(lines), content_type="text/plain")\n'
    )


def _migration(number: str, after: str, operations: str, *, atomic: bool = True) -> str:
    return (
        "from django.db import migrations, models\n\n\n"
        "class Migration(migrations.Migration):\n"
        + ("" if atomic else "    atomic = False\n")
        + f'    dependencies = [("notes", "{after}")]\n'
        f"    operations = [\n{operations}    ]\n"
    )


INITIAL = _migration(
    "0001",
    "__first__",
    '        migrations.CreateModel("Note", [\n'
    '            ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,\n'
    '                                       verbose_name="ID")),\n'
    '            ("title", models.CharField(max_length=100)),\n'
    '            ("text", models.TextField()),\n'
    '        ], options={"db_table": "notes_note"}),\n',
).replace('    dependencies = [("notes", "__first__")]\n', "    initial = True\n    dependencies = []\n")

CONTENT_URLS = '    path("", include("apps.content.urls")),\n'
TEXT = "    text = models.TextField()\n"
BODY_SHADOW = "    body = models.TextField(null=True, blank=True, editable=False)\n"
WRITE_BOTH = (
    "\n    def save(self, *args, **kwargs):\n"
    "        # Step 2: the new column is written with the old one, so no later edit leaves it behind.\n"
    "        self.body = self.text\n"
    "        super().save(*args, **kwargs)\n"
)
BODY_ONLY = "    body = models.TextField(null=True)\n"
DROP_NOT_NULL_AND_FORGET = (
    "        migrations.SeparateDatabaseAndState(\n"
    '            database_operations=[migrations.RunSQL("ALTER TABLE notes_note ALTER COLUMN text DROP NOT NULL")],\n'
    '            state_operations=[migrations.RemoveField("note", "text"),\n'
    '                              migrations.AlterField("note", "body", models.TextField(null=True))],\n'
    "        ),\n"
)


# Step 4's code: reads and writes body alone, and no longer declares it derived from text.
READS_BODY = {
    "apps/notes/models.py": _model(BODY_ONLY),
    "apps/notes/admin.py": _admin("body"),
    "apps/notes/views.py": _view("body"),
    "apps/notes/rehearsal.py": None,
}


def build(repo: FixtureRepo) -> dict[str, str]:
    """Every release, tagged in `repo`; returns their tags by name."""
    tags = {}
    tags["base"] = repo.release(
        "notes-base",
        on="folio",
        files={
            **APP,
            "apps/notes/models.py": _model(TEXT),
            "apps/notes/admin.py": _admin("text"),
            "apps/notes/views.py": _view("text"),
            "apps/notes/migrations/0001_initial.py": INITIAL,
        },
        edits={
            "config/settings/base.py": [('    "apps.content",\n]', '    "apps.content",\n    "apps.notes",\n]')],
            "config/urls.py": [
                (
                    '    path("", include("apps.content.urls")),\n',
                    '    path("", include("apps.notes.urls")),\n    path("", include("apps.content.urls")),\n',
                ),
            ],
        },
    )
    tags["one_step"] = repo.release(
        "notes-rename-one-step",
        on=tags["base"],
        files={
            "apps/notes/models.py": _model("    body = models.TextField()\n"),
            "apps/notes/admin.py": _admin("body"),
            "apps/notes/views.py": _view("body"),
            "apps/notes/migrations/0002_rename.py": _migration(
                "0002", "0001_initial", '        migrations.RenameField("note", "text", "body"),\n'
            ),
        },
    )
    tags["expand"] = repo.release(
        "notes-1-expand",
        on=tags["base"],
        files={
            "apps/notes/models.py": _model(TEXT + BODY_SHADOW),
            "apps/notes/migrations/0002_body.py": _migration(
                "0002",
                "0001_initial",
                '        migrations.AddField("note", "body",\n'
                "                            models.TextField(null=True, blank=True, editable=False)),\n",
            ),
        },
    )
    tags["write_both"] = repo.release(
        "notes-2-write-both", on=tags["expand"], files={"apps/notes/models.py": _model(TEXT + BODY_SHADOW, WRITE_BOTH)}
    )
    tags["backfill"] = repo.release(
        "notes-3-backfill",
        on=tags["write_both"],
        files={
            # Every row that differs, not only NULL ones: step 1's code may have edited a row step 2 had copied.
            # (Folio's own backfills go in primary-key batches: apps/content/backfill.py; this table is small.)
            "apps/notes/migrations/0003_backfill.py": _migration(
                "0003",
                "0002_body",
                '        migrations.RunSQL("UPDATE notes_note SET body = text WHERE body IS DISTINCT FROM text",\n'
                "                          migrations.RunSQL.noop),\n",
                atomic=False,
            ),
            # From here on every row must hold body == text as step 2's save() writes it.
            "apps/notes/rehearsal.py": 'DERIVED_FIELDS = {"notes.Note": ["body"]}\n',
        },
    )
    tags["read_new"] = repo.release(
        "notes-4-read-new",
        on=tags["backfill"],
        files={
            **READS_BODY,
            "apps/notes/migrations/0004_forget_text.py": _migration("0004", "0003_backfill", DROP_NOT_NULL_AND_FORGET),
        },
    )
    tags["contract"] = repo.release(
        "notes-5-contract",
        on=tags["read_new"],
        files={
            "apps/notes/migrations/0005_drop_text.py": _migration(
                "0005",
                "0004_forget_text",
                '        migrations.RunSQL("ALTER TABLE notes_note DROP COLUMN text", migrations.RunSQL.noop),\n',
            ),
        },
    )
    tags["drop_early"] = repo.release(
        "notes-drop-too-early",
        on=tags["backfill"],
        files={
            **READS_BODY,
            "apps/notes/migrations/0004_drop_text.py": _migration(
                "0004",
                "0003_backfill",
                '        migrations.RemoveField("note", "text"),\n'
                '        migrations.AlterField("note", "body", models.TextField(null=True)),\n',
            ),
        },
    )
    return tags
