"""The reference's expand → backfill story, replayed by migrations 0004 and 0005 on SQLite and PostgreSQL."""

from __future__ import annotations

import random
import re

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from apps.content import backfill
from apps.content.words import WHITESPACE, WORD_PATTERN, count_words, postgres_word_count
from tests.migrations import both_databases, migrated_back_to

BEFORE = [("content", "0003_essay_visible_idx")]
AFTER = [("content", "0005_backfill_word_count")]

AWKWARD_BODIES = {
    "plain": "Three plain words",
    "edges": "\n\n\tleading and trailing newlines and tabs\t\n",
    "only-space": " \t\n \r\n ",
    "nbsp": "non\u00a0breaking\u00a0spaces count as spaces",
    "narrow-nbsp": "10\u202fkm\u2003em\u2009thin",
    "unicode": "Ça déjà vu — naïve façade: 東京 の 夜",
    "crlf": "windows\r\nline\r\nendings",
    "empty": "",
}
EXPECTED = {
    "plain": 3, "edges": 6, "only-space": 0, "nbsp": 6, "narrow-nbsp": 4, "unicode": 9, "crlf": 3, "empty": 0,
}  # fmt: skip

# Bodies built to split the SQL expression's two paths from Python: whitespace alone, the rare characters that
# send a body down the regex path, one huge word, and each whitespace character between two words.
ADVERSARIAL_BODIES = {
    "only-whitespace": WHITESPACE * 3,
    "nbsp-runs": "\u00a0" * 40 + "before\u00a0\u00a0\u00a0after" + "\u00a0" * 40,
    "nbsp-and-tabs": "one\u00a0\ttwo\r\n\u00a0three\t",
    "one-megabyte-word": "w" * 1_000_000,
    **{f"between-U+{ord(c):04X}": f"left{c}right" for c in WHITESPACE},
    "every-whitespace-between-words": "first" + WHITESPACE + "second" + WHITESPACE[::-1] + "third",
}
ADVERSARIAL_EXPECTED = {
    "only-whitespace": 0, "nbsp-runs": 2, "nbsp-and-tabs": 3, "one-megabyte-word": 1,
    **{f"between-U+{ord(c):04X}": 2 for c in WHITESPACE}, "every-whitespace-between-words": 3,
}  # fmt: skip


@pytest.fixture
def migrator(transactional_db):
    """Migrate content back to 0003, hand the executor to the test, and leave the schema at the latest state."""
    with migrated_back_to(BEFORE) as executor:
        yield executor


def old_essays(executor: MigrationExecutor, bodies: dict[str, str]) -> None:
    executor.loader.build_graph()
    old = executor.loader.project_state(BEFORE).apps
    author = old.get_model("users", "User").objects.create(username="historian")
    Essay = old.get_model("content", "Essay")
    for slug, body in bodies.items():
        Essay.objects.create(slug=slug, title=slug, body=body, author=author, published_at=timezone.now())


def word_counts() -> dict[str, int | None]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT slug, word_count FROM content_essay")
        return dict(cursor.fetchall())


def test_the_one_definition_of_a_word():
    assert {slug: count_words(body) for slug, body in AWKWARD_BODIES.items()} == EXPECTED
    assert {slug: count_words(body) for slug, body in ADVERSARIAL_BODIES.items()} == ADVERSARIAL_EXPECTED


def test_the_spelled_out_whitespace_is_exactly_what_the_pattern_splits_on():
    """The SQL expression turns WHITESPACE into spaces: one character missing would join two words in SQL only."""
    splitting = {chr(n) for n in range(0x110000) if re.fullmatch(WORD_PATTERN, chr(n)) is None}
    assert set(WHITESPACE) == splitting


@both_databases
def test_0005_backfills_word_count_with_the_one_definition(migrator, vendor):
    assert connection.vendor == vendor
    old_essays(migrator, {**AWKWARD_BODIES, **ADVERSARIAL_BODIES})

    MigrationExecutor(connection).migrate(AFTER)

    counts = word_counts()
    assert counts.pop("empty") is None, "an empty body is left for the model to count"
    expected = {**EXPECTED, **ADVERSARIAL_EXPECTED}
    del expected["empty"]
    assert counts == expected


@both_databases
def test_0004_and_0005_migrate_backward_and_forward_again(migrator, vendor):
    old_essays(migrator, {"plain": "Three plain words"})
    MigrationExecutor(connection).migrate(AFTER)
    assert word_counts() == {"plain": 3}

    MigrationExecutor(connection).migrate([("content", "0004_add_word_count")])
    assert word_counts() == {"plain": None}, "0005 reversed clears the counts"
    MigrationExecutor(connection).migrate(BEFORE)
    with connection.cursor() as cursor:
        columns = [c.name for c in connection.introspection.get_table_description(cursor, "content_essay")]
    assert "word_count" not in columns

    MigrationExecutor(connection).migrate(AFTER)
    assert word_counts() == {"plain": 3}


def random_bodies(count: int) -> list[str]:
    """Seeded noise over an alphabet that is mostly whitespace, so every path sees runs, edges and mixtures."""
    rng = random.Random(22)
    alphabet = WHITESPACE + "ab€東"
    return ["".join(rng.choices(alphabet, k=rng.randint(0, 60))) for _ in range(count)]


def postgres_counts(expression: str, params: list, bodies: list[str]) -> list[int]:
    """Each body counted by `expression` over the column `body`, in one statement."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {expression} FROM unnest(%s::text[]) WITH ORDINALITY AS t(body, n) ORDER BY n",  # noqa: S608
            [*params, bodies],
        )
        return [count for (count,) in cursor.fetchall()]


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.parametrize(
    "expression",
    [
        pytest.param(postgres_word_count("body"), id="backfill"),
        pytest.param(("regexp_count(body, %s)", [WORD_PATTERN]), id="regexp_count"),
    ],
)
def test_postgres_counts_words_exactly_as_python_does(expression):
    """The backfill's expression, and the regexp_count it replaced (so 0005 run before and after agree)."""
    bodies = [*AWKWARD_BODIES.values(), *ADVERSARIAL_BODIES.values(), *random_bodies(2_000)]
    mismatched = [
        (body[:80], sql, count_words(body))
        for body, sql in zip(bodies, postgres_counts(*expression, bodies), strict=True)
        if sql != count_words(body)
    ]
    assert mismatched == []


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_references_trim_split_miscounts_what_folio_gets_right():
    """Why Folio does not paste the reference's SQL: trim() knows only the space character."""
    reference = "SELECT array_length(regexp_split_to_array(trim(%s), '\\s+'), 1)"
    with connection.cursor() as cursor:
        cursor.execute(reference, [AWKWARD_BODIES["edges"]])
        assert cursor.fetchone()[0] != EXPECTED["edges"]


@pytest.mark.postgres
def test_0005_commits_batch_by_batch_on_postgres(migrator, monkeypatch):
    """A failure in batch three keeps batches one and two; a re-run finishes only what is left."""
    old_essays(migrator, {f"essay-{n}": "one two three" for n in range(10)})
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM content_essay ORDER BY id")
        ids = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            f"""
            CREATE FUNCTION folio_refuse_row() RETURNS trigger AS $$
            BEGIN
                IF NEW.id = {ids[5]} THEN RAISE EXCEPTION 'row {ids[5]} refused'; END IF;
                RETURN NEW;
            END $$ LANGUAGE plpgsql;
            CREATE TRIGGER folio_refuse BEFORE UPDATE ON content_essay
                FOR EACH ROW EXECUTE FUNCTION folio_refuse_row();
            """
        )
    monkeypatch.setattr(backfill, "BATCH_SIZE", 2)
    try:
        with pytest.raises(Exception, match="refused"):
            MigrationExecutor(connection).migrate(AFTER)
        with connection.cursor() as cursor:
            cursor.execute("SELECT id, word_count FROM content_essay ORDER BY id")
            filled = dict(cursor.fetchall())
        first_id = ids[0]
        assert [filled[i] for i in ids] == [3, 3, 3, 3, None, None, None, None, None, None], (
            f"batches of 2 from id {first_id}: two committed before the refused row's batch"
        )
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER folio_refuse ON content_essay; DROP FUNCTION folio_refuse_row();")

    assert backfill.fill_word_counts(connection) == 6, "a re-run touches only the rows still NULL"
    assert set(word_counts().values()) == {3}
    MigrationExecutor(connection).migrate(AFTER)


@both_databases
def test_every_migration_unapplies_to_zero_and_applies_again(migrator, vendor):
    executor = MigrationExecutor(connection)
    executor.migrate([("content", None)])
    assert "content_essay" not in connection.introspection.table_names()

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert "content_essay" in connection.introspection.table_names()
