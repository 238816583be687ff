"""What `manage.py rehearse` holds this app's rows to, and the traffic it adds to the readers'.

DERIVED_FIELDS: columns this release computes on save and guarantees for every row, so an essay any release wrote
during a deploy must read back with the value this release's save() would store. Declared by the release that
completes a column (the one carrying its backfill), never by the one that only starts writing it. Read in the next
release (apps/core/rehearsal/probe.py).

traffic: one round of what a reader does that the sitemap cannot name, run by the rehearsal in the tree it runs
from (apps/core/rehearsal/traffic.py): paging back through the list, whose later pages are the OFFSET queries a
schema change can slow or break.
"""

from __future__ import annotations

# Not the stored rendering (0008/0009): a row the previous release edits after the backfill passed it keeps a
# rendering of its old body by design, which no page serves (rendering.is_current) and the hourly job replaces.
DERIVED_FIELDS = {"content.Essay": ["word_count"]}

LIST_PAGES = (2, 3)


def traffic(visit) -> None:
    for number in LIST_PAGES:
        visit(f"/?page={number}")
