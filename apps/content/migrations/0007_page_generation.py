"""The page cache's generation (PageGeneration): one row, and triggers that give it a new value on every write to
what cached pages show — essays (insert, update, delete, truncate) and authors' names — in the writer's own
transaction, so the new value is seen exactly when the write is. Written as an upsert: `manage.py flush` (and so
every transactional test) empties the table, and the next write must bring the row back. The row's lock is held
to the writer's commit, so transactions writing essays queue one behind another for that long: nothing on an
editorial site, but a transaction that writes essays in two statements while another writes them too may deadlock,
which PostgreSQL detects (deadlock_timeout) and ends by rolling one of them back.

Triggers, not signals: QuerySet.update, raw SQL, a shell in another process and psql bypass Django's signals, never
a trigger. The new value is random, not value + 1: a transaction that rolls back (every test does) must not hand
its value to the next one, whose pages differ. Per vendor, because trigger syntax is: PostgreSQL fires once per
statement, SQLite (which has only row triggers) once per row. SQLite drops a table's triggers when Django rebuilds
the table for an ALTER it cannot do in place: a later migration that alters content_essay or users_user on SQLite
must create them again (tests/content/test_page_generation.py fails if a write no longer changes the value).
"""

from django.db import migrations, models

# Author names are on the essay page (the byline); last_login, written at every login, is not, and fires nothing.
USER_NAME_COLUMNS = "username, first_name, last_name"

POSTGRESQL = {
    "create": [
        """CREATE FUNCTION content_pagegeneration_bump() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO content_pagegeneration (id, value) VALUES (1, (random() * 9.2e18)::bigint)
                ON CONFLICT (id) DO UPDATE SET value = EXCLUDED.value;
            RETURN NULL;
        END $$""",
        """CREATE TRIGGER content_essay_pages AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON content_essay
        FOR EACH STATEMENT EXECUTE FUNCTION content_pagegeneration_bump()""",
        f"""CREATE TRIGGER users_user_pages AFTER UPDATE OF {USER_NAME_COLUMNS} ON users_user
        FOR EACH STATEMENT EXECUTE FUNCTION content_pagegeneration_bump()""",
        "INSERT INTO content_pagegeneration (id, value) VALUES (1, (random() * 9.2e18)::bigint)",
    ],
    "drop": [
        "DROP TRIGGER IF EXISTS users_user_pages ON users_user",
        "DROP TRIGGER IF EXISTS content_essay_pages ON content_essay",
        "DROP FUNCTION IF EXISTS content_pagegeneration_bump()",
    ],
}

_SQLITE_BUMP = "BEGIN INSERT OR REPLACE INTO content_pagegeneration (id, value) VALUES (1, random()); END"
SQLITE = {
    "create": [
        *(
            f"CREATE TRIGGER content_essay_pages_{event.lower()} AFTER {event} ON content_essay {_SQLITE_BUMP}"
            for event in ("INSERT", "UPDATE", "DELETE")
        ),
        f"CREATE TRIGGER users_user_pages AFTER UPDATE OF {USER_NAME_COLUMNS} ON users_user {_SQLITE_BUMP}",
        "INSERT INTO content_pagegeneration (id, value) VALUES (1, random())",
    ],
    "drop": [
        "DROP TRIGGER IF EXISTS users_user_pages",
        *(f"DROP TRIGGER IF EXISTS content_essay_pages_{event}" for event in ("delete", "update", "insert")),
    ],
}

VENDORS = {"postgresql": POSTGRESQL, "sqlite": SQLITE}


def _run(direction: str):
    def run(apps, schema_editor) -> None:
        vendor = schema_editor.connection.vendor
        if vendor not in VENDORS:
            raise RuntimeError(
                f"content 0007: no page-generation triggers for {vendor}; Folio runs on PostgreSQL or SQLite."
            )
        for statement in VENDORS[vendor][direction]:
            schema_editor.execute(statement, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("content", "0006_essay_cover"),
        ("users", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="PageGeneration",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("value", models.BigIntegerField()),
            ],
            options={"db_table": "content_pagegeneration"},
        ),
        migrations.RunPython(_run("create"), _run("drop"), elidable=False),
    ]
