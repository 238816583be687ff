"""An essay's HTML and excerpt rendered at save time and stored with what they were made from and with
(apps/content/rendering.py)."""

from __future__ import annotations

import importlib.metadata

import pytest

from apps.content import rendering
from apps.content.models import Essay

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
