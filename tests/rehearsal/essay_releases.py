"""Releases of Folio's own essays for the rehearsal's tests:

- Folio's 0004/0005 as shipped, replayed: a release without `word_count`, then one adding the column, its backfill
  and the save-time count together (`shipped`); and the same change split as the reference says: the column with
  the code that writes it (`expand`), then a backfill of every row that differs, which is also the release that
  declares the column complete (`backfill`).
- A plain CREATE INDEX on the essays table (`index`), the lock every writer waits behind while it builds.
"""

from __future__ import annotations

from harness.project import ROOT

from .fixture_repo import FixtureRepo

MODELS = "apps/content/models.py"
ADMIN = "apps/content/admin.py"
DETAIL = "templates/content/essay_detail.html"
DECLARATION = "apps/content/rehearsal.py"

WITHOUT_WORD_COUNT = {
    MODELS: [
        (
            "    # Nullable on purpose: added by 0004 and filled by 0005 without locking a busy table "
            "(expand, backfill).\n"
            "    word_count = models.PositiveIntegerField(null=True, blank=True, editable=False)\n",
            "",
        ),
        ("        self.word_count = count_words(self.body)\n", ""),
        (
            'BODY_DERIVED_FIELDS = ("word_count", *rendering.Rendered._fields)',
            "BODY_DERIVED_FIELDS = rendering.Rendered._fields",
        ),
        ("rendering.reading_minutes(self.word_count)", "rendering.reading_minutes(count_words(self.body))"),
    ],
    ADMIN: [
        ('"author", "word_count", "preview_link"]', '"author", "preview_link"]'),
        ('readonly_fields = ["word_count", ', "readonly_fields = ["),
        ('{"fields": ["word_count", "created_at"', '{"fields": ["created_at"'),
    ],
    DETAIL: [('      <span class="visually-hidden">({{ essay.word_count }} words)</span>\n', "")],
}


# The releases below start from Folio's newest migration, whichever it is, so a new one leaves them valid.
LATEST = max(path.stem for path in (ROOT / "apps" / "content" / "migrations").glob("[0-9][0-9][0-9][0-9]_*.py"))


def _next(step: int) -> str:
    """The number of the migration `step` places after LATEST, as Django's makemigrations would write it."""
    return f"{int(LATEST[:4]) + step:04d}"


def _migration(name: str, after: str, body: str, *, atomic: bool = True) -> dict[str, str]:
    return {
        f"apps/content/migrations/{name}.py": (
            "from django.db import migrations, models, transaction\n\n"
            "from apps.content import backfill\n"
            "from apps.content.words import WORD_PATTERN\n\n"
            f"{body}\n\n"
            "class Migration(migrations.Migration):\n"
            + ("" if atomic else "    atomic = False\n")
            + f'    dependencies = [("content", "{after}")]\n'
            "    operations = OPERATIONS\n"
        )
    }


REMOVE = _migration(f"{_next(1)}_remove_word_count", LATEST,
                    'OPERATIONS = [migrations.RemoveField("essay", "word_count")]\n')  # fmt: skip
ADD = _migration(
    f"{_next(2)}_add_word_count",
    f"{_next(1)}_remove_word_count",
    "OPERATIONS = [\n"
    '    migrations.AddField("essay", "word_count",\n'
    "                        models.PositiveIntegerField(blank=True, editable=False, null=True)),\n"
    "]\n",
)
# 0005 as shipped: only rows still NULL, in primary-key batches.
BACKFILL_AS_SHIPPED = _migration(
    f"{_next(3)}_backfill_word_count",
    f"{_next(2)}_add_word_count",
    "def fill(apps, schema_editor):\n"
    "    backfill.fill_word_counts(schema_editor.connection)\n\n\n"
    "OPERATIONS = [migrations.RunPython(fill, migrations.RunPython.noop)]\n",
    atomic=False,
)
# Step 3 done right: after every serving release writes the column, recount every row that differs (a row the
# old code edited after the new code counted it is not NULL, only stale), in the same short batches.
BACKFILL_EVERY_ROW = _migration(
    f"{_next(3)}_recount_word_count",
    f"{_next(2)}_add_word_count",
    "RECOUNT = (\n"
    '    "UPDATE content_essay SET word_count = regexp_count(body, %s) WHERE id >= %s AND id < %s"\n'
    '    " AND word_count IS DISTINCT FROM regexp_count(body, %s)"\n'
    ")\n\n\n"
    "def recount(apps, schema_editor):\n"
    "    connection = schema_editor.connection\n"
    "    with connection.cursor() as cursor:\n"
    '        cursor.execute("SELECT coalesce(min(id), 0), coalesce(max(id), -1) FROM content_essay")\n'
    "        low, high = cursor.fetchone()\n"
    "    for start in range(low, high + 1, backfill.BATCH_SIZE):\n"
    "        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:\n"
    "            cursor.execute(RECOUNT, [WORD_PATTERN, start, start + backfill.BATCH_SIZE, WORD_PATTERN])\n\n\n"
    "OPERATIONS = [migrations.RunPython(recount, migrations.RunPython.noop)]\n",
    atomic=False,
)
INDEX_MIGRATION = f"{_next(1)}_essay_title_body_idx"
INDEX = _migration(
    INDEX_MIGRATION,
    LATEST,
    "OPERATIONS = [\n"
    '    migrations.AddIndex("essay", models.Index(fields=["title", "body"], name="essay_title_body_idx")),\n'
    "]\n",
)


def build(repo: FixtureRepo) -> dict[str, str]:
    restored = {MODELS: "folio", ADMIN: "folio", DETAIL: "folio"}
    tags = {}
    tags["without"] = repo.release(
        "essays-without-word-count", on="folio", files={**REMOVE, DECLARATION: None}, edits=WITHOUT_WORD_COUNT
    )
    tags["shipped"] = repo.release(
        "essays-0004-0005-as-shipped",
        on=tags["without"],
        restore={**restored, DECLARATION: "folio"},
        files={**ADD, **BACKFILL_AS_SHIPPED},
    )
    tags["expand"] = repo.release("essays-word-count-expand", on=tags["without"], restore=restored, files=ADD)
    tags["backfill"] = repo.release(
        "essays-word-count-backfill", on=tags["expand"], restore={DECLARATION: "folio"}, files=BACKFILL_EVERY_ROW
    )
    tags["index"] = repo.release(
        "essays-plain-create-index",
        on="folio",
        files=INDEX,
        edits={
            MODELS: [
                (
                    'indexes = [models.Index(fields=["status", "published_at"], name="essay_visible_idx")]',
                    'indexes = [models.Index(fields=["status", "published_at"], name="essay_visible_idx"),\n'
                    '                   models.Index(fields=["title", "body"], name="essay_title_body_idx")]',
                )
            ]
        },
    )
    return tags
