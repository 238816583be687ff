"""The static pre-check: the previous release's models against the schema the next release's migrations leave, read
from a copy of the scratch database migrated ahead (seconds, before any traffic).

What breaks a release still serving: a column its models select that is gone; a table it uses that is gone (or
renamed); a NOT NULL column without a database default that its inserts do not write.
"""

from __future__ import annotations

from typing import Any

import psycopg

SCHEMA_SQL = """
    SELECT c.table_name, c.column_name, c.is_nullable = 'YES', c.column_default IS NOT NULL OR c.is_identity = 'YES'
    FROM information_schema.columns c
    JOIN information_schema.tables t USING (table_schema, table_name)
    WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
"""


def schema(connection: psycopg.Connection) -> dict[str, dict[str, tuple[bool, bool]]]:
    """{table: {column: (nullable, has a default)}}"""
    tables: dict[str, dict[str, tuple[bool, bool]]] = {}
    for table, column, nullable, has_default in connection.execute(SCHEMA_SQL):
        tables.setdefault(table, {})[column] = (nullable, has_default)
    return tables


def findings(models: list[dict[str, Any]], after: dict[str, dict[str, tuple[bool, bool]]]) -> list[str]:
    """One sentence per way the previous release's models break on the schema `after` the next migrations."""
    found = []
    for model in models:
        table, columns = model["table"], set(model["columns"])
        if table not in after:
            found.append(
                f"{model['label']}: table {table} is gone after the next release's migrations (renamed or dropped); "
                f"the previous release still reads and writes it."
            )
            continue
        now = after[table]
        added = sorted(set(now) - columns)
        for column in sorted(columns - set(now)):
            hint = f" (new columns there: {', '.join(added)})" if added else ""
            found.append(
                f"{model['label']}: column {table}.{column} is gone after the next release's migrations{hint}; "
                f"the previous release still selects it."
            )
        for column in added:
            nullable, has_default = now[column]
            if not nullable and not has_default:
                found.append(
                    f"{model['label']}: column {table}.{column} is NOT NULL without a database default, and the "
                    f"previous release's inserts do not write it."
                )
    return found
