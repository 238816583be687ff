"""Stored renderings brought up to date: essays whose stored HTML is missing or made by another renderer are
rendered again, in short batches.

Migration 0009 runs it over the rows older than 0008 (the backfill), and the schedule's `render_essays` job over
what is left behind: essays a release without the columns wrote during a deploy, and every essay after markdown,
nh3 or the allow-list changes (a new rendering.RENDERER). No page waits for either: until its row is rendered
again, a page renders the body itself (Essay.html). A body written without save() keeps a matching renderer and a
stale digest, which only `manage.py render_essays --all` finds: it reads every body.

Rendering happens outside any transaction; each batch's writes are one short transaction, and a row is written only
if its body is still the one rendered (compared in the UPDATE), so an edit that lands in between is never
overwritten with a rendering of the old text.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db import models, transaction

from . import rendering

# Rendering is Python, about a millisecond an essay: a batch's writes hold the page generation's row (0007) for
# a few tens of milliseconds, so an editor saving meanwhile waits no longer than that.
BATCH_SIZE = 100


def refresh(
    essays: type[models.Model], *, every_row: bool = False, batch_size: int = BATCH_SIZE, using: str = "default"
) -> int:
    """Render again each essay whose stored rendering is missing or another renderer's (with every_row, also each
    one made from another body); `essays` is the Essay model, or a migration's historical one. Returns how many
    rows were written."""
    manager = essays._default_manager.db_manager(using)
    written = 0
    for batch in _batches(manager, every_row=every_row, batch_size=batch_size):
        rendered = [(pk, body, rendering.render_essay(body)) for pk, body in batch]
        with transaction.atomic(using=using):
            for pk, body, fresh in rendered:
                written += manager.filter(pk=pk, body=body).update(**fresh._asdict())
    return written


def _batches(manager: models.Manager, *, every_row: bool, batch_size: int) -> Iterator[list[tuple[int, str]]]:
    """(id, body) of the rows to render again, in id order, one batch at a time."""
    last_id = 0
    while True:
        rows = manager.filter(id__gt=last_id).order_by("id")
        if every_row:
            page = list(rows.values_list("id", "body", "rendered_from", "rendered_with")[:batch_size])
            batch = [(row[0], row[1]) for row in page if not rendering.is_current(*row[1:])]
        else:
            page = list(rows.exclude(rendered_with=rendering.RENDERER).values_list("id", "body")[:batch_size])
            batch = page
        if not page:
            return
        last_id = page[-1][0]
        if batch:
            yield batch
