"""What `manage.py rehearse` holds this app's rows to (apps/core/rehearsal/probe.py reads it in the next release).

DERIVED_FIELDS: columns this release computes on save and guarantees for every row, so an essay any release wrote
during a deploy must read back with the value this release's save() would store. Declared by the release that
completes a column (the one carrying its backfill), never by the one that only starts writing it.
"""

DERIVED_FIELDS = {"content.Essay": ["word_count"]}
