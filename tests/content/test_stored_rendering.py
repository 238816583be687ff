"""An essay's HTML and excerpt rendered at save time and stored with what they were made from and with
(apps/content/rendering.py); the backfill and the job that render stale rows again (stored_rendering.py)."""

from __future__ import annotations

import importlib.metadata
import io

import pytest
from django.core.management import call_command

from apps.content import rendering, stored_rendering
from apps.content.models import Essay
from apps.content.tasks import render_stale_essays

pytestmark = pytest.mark.django_db

BODY = "A first paragraph with **strong** words.\n\n## A heading\n\nAnd a *second* paragraph."


def stored(essay: Essay) -> rendering.Rendered:
    row = Essay.objects.values_list(*rendering.Rendered._fields).get(pk=essay.pk)
    return rendering.Rendered(*row)


def test_save_stores_the_rendering_current_only_for_its_body_and_this_renderer(make_essay, monkeypatch):
    essay = make_essay("stored", body=BODY)

    kept = stored(essay)
    assert kept == rendering.render_essay(BODY)
    assert "<strong>strong</strong>" in kept.rendered_html
    assert kept.rendered_excerpt == "A first paragraph with strong words."
    assert rendering.is_current(BODY, kept.rendered_from, kept.rendered_with)
    assert not rendering.is_current(BODY + " ", kept.rendered_from, kept.rendered_with)
    assert not rendering.is_current(BODY, None, None)
    monkeypatch.setattr(rendering, "RENDERER", "another renderer")
    assert not rendering.is_current(BODY, kept.rendered_from, kept.rendered_with)


def test_save_limited_to_the_body_writes_the_rendering_too(make_essay):
    essay = make_essay("partial", body=BODY)
    essay.body = "Only *this* now."
    essay.save(update_fields=["body"])

    assert stored(essay) == rendering.render_essay("Only *this* now.")


def test_the_renderer_names_the_installed_markdown_and_nh3():
    installed = f"markdown {importlib.metadata.version('markdown')}, nh3 {importlib.metadata.version('nh3')}"
    assert installed == rendering.LIBRARIES, (
        "markdown or nh3 changed: set rendering.LIBRARIES to the new versions, so stored essays render again"
    )


def test_refresh_renders_missing_and_other_renderers_rows_in_batches_and_leaves_current_ones(make_essay):
    essays = {slug: make_essay(slug, body=f"Essay **{slug}**.") for slug in ("a", "b", "c", "d", "e", "f")}
    Essay.objects.filter(slug__in=["a", "c", "e"]).update(
        rendered_html=None, rendered_excerpt=None, rendered_from=None, rendered_with=None
    )
    Essay.objects.filter(slug="d").update(rendered_with="an older renderer")
    # Written without save(): the renderer matches, only reading the body tells.
    Essay.objects.filter(slug="f").update(body="Changed **quietly**.")

    assert stored_rendering.refresh(Essay, batch_size=2) == 4
    assert stored_rendering.refresh(Essay, batch_size=2) == 0
    for slug in "abcde":
        assert stored(essays[slug]) == rendering.render_essay(f"Essay **{slug}**."), slug
    assert stored(essays["f"]) == rendering.render_essay("Essay **f**.")

    assert stored_rendering.refresh(Essay, every_row=True, batch_size=2) == 1
    assert stored(essays["f"]) == rendering.render_essay("Changed **quietly**.")


def test_refresh_never_stores_a_rendering_of_a_body_edited_while_it_rendered(make_essay, monkeypatch):
    essay = make_essay("raced", body="The old text.")
    Essay.objects.filter(pk=essay.pk).update(rendered_with=None)
    render_essay = rendering.render_essay

    def edit_meanwhile(body):
        Essay.objects.filter(pk=essay.pk).update(body="The new text.")  # an editor's save lands now
        return render_essay(body)

    monkeypatch.setattr(rendering, "render_essay", edit_meanwhile)

    assert stored_rendering.refresh(Essay) == 0
    essay.refresh_from_db()
    assert essay.rendered_with is None
    assert "The new text." in essay.html


def test_the_scheduled_job_and_the_command_render_stale_essays(make_essay):
    make_essay("job", body=BODY)
    make_essay("command", body=BODY)
    Essay.objects.update(rendered_with=None)

    assert render_stale_essays.call() == 2
    Essay.objects.filter(slug="command").update(body="Quietly *changed*.")
    out = io.StringIO()
    call_command("render_essays", stdout=out)
    call_command("render_essays", "--all", stdout=out)

    assert out.getvalue().splitlines() == ["Rendered 0 essays again.", "Rendered 1 essay again."]
    assert "<em>changed</em>" in Essay.objects.get(slug="command").rendered_html
