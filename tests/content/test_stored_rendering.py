"""An essay's HTML rendered at save time and served from its row, never for a body or renderer it was not made
from; the job that renders stale rows again (apps/content/stored_rendering.py)."""

from __future__ import annotations

import importlib.metadata
import io
import json

import pytest
from django.core.management import call_command

from apps.content import rendering, stored_rendering
from apps.content.models import Essay
from apps.content.tasks import render_stale_essays
from harness.project import clean_env, manage_steps, run_python

pytestmark = pytest.mark.django_db

BODY = "A first paragraph with **strong** words.\n\n## A heading\n\nAnd a *second* paragraph."


def forbid_rendering(monkeypatch) -> None:
    """Rendering made impossible from here on: a page that still answers was served from what save() stored."""

    def refuse(*args, **kwargs):
        raise AssertionError("rendered while serving a page")

    monkeypatch.setattr(rendering, "render_markdown", refuse)
    monkeypatch.setattr(rendering, "excerpt", refuse)


def stored(essay: Essay) -> rendering.Rendered:
    row = Essay.objects.values_list(*rendering.Rendered._fields).get(pk=essay.pk)
    return rendering.Rendered(*row)


def test_save_stores_the_rendering_and_pages_serve_it_without_rendering(client, make_essay, monkeypatch):
    essay = make_essay("stored", body=BODY)
    forbid_rendering(monkeypatch)

    detail, listing, feed = client.get("/essays/stored/"), client.get("/"), client.get("/feed/")

    assert detail.status_code == listing.status_code == feed.status_code == 200
    assert "<strong>strong</strong>" in detail.content.decode()
    assert "<h2>A heading</h2>" in detail.content.decode()
    assert "A first paragraph with strong words." in listing.content.decode()
    assert stored(essay).rendered_with == rendering.RENDERER


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


def test_a_body_written_without_save_is_rendered_from_the_new_body(client, make_essay):
    make_essay("edited", body=BODY)
    Essay.objects.filter(slug="edited").update(body="Rewritten in **SQL** alone.")

    page = client.get("/essays/edited/").content.decode()

    assert "<strong>SQL</strong>" in page
    assert "strong</strong> words" not in page
    assert "Rewritten in SQL alone." in client.get("/").content.decode()


def test_a_rendering_by_another_renderer_is_not_served(client, make_essay, monkeypatch, settings):
    settings.PAGE_CACHE_SECONDS = 0  # each answer rendered afresh, for the renderer of that moment
    make_essay("renderer", body=BODY)
    Essay.objects.filter(slug="renderer").update(rendered_html="<p>made by an older allow-list</p>")
    assert "older allow-list" in client.get("/essays/renderer/").content.decode()  # the same renderer: served

    monkeypatch.setattr(rendering, "RENDERER", "another renderer")

    page = client.get("/essays/renderer/").content.decode()
    assert "older allow-list" not in page
    assert "<strong>strong</strong>" in page


def test_save_limited_to_the_body_writes_the_rendering_too(make_essay):
    essay = make_essay("partial", body=BODY)
    essay.body = "Only *this* now."
    essay.save(update_fields=["body"])

    assert stored(essay) == rendering.render_essay("Only *this* now.")


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


def test_the_renderer_names_the_installed_markdown_and_nh3():
    installed = f"markdown {importlib.metadata.version('markdown')}, nh3 {importlib.metadata.version('nh3')}"
    assert installed == rendering.LIBRARIES, (
        "markdown or nh3 changed: set rendering.LIBRARIES to the new versions, so stored essays render again"
    )


def test_a_fresh_process_serves_an_essay_page_without_loading_markdown(tmp_path):
    # Development settings: production refuses SQLite, and the page's path is the same under either.
    env = clean_env(DJANGO_SETTINGS_MODULE="config.settings.development", DATABASE_URL=f"sqlite:///{tmp_path}/site.db")
    manage_steps(("migrate", "--noinput"), ("seed_demo",), env=env)
    code = (
        "import json, sys, django\n"
        "django.setup()\n"
        "from django.test import Client\n"
        "from apps.content.models import Essay\n"
        "slug = Essay.objects.values_list('slug', flat=True).first()\n"
        "response = Client(HTTP_HOST='localhost').get(f'/essays/{slug}/')\n"
        "print(json.dumps([response.status_code, sorted(m for m in ('markdown', 'nh3') if m in sys.modules)]))\n"
    )
    result = run_python(code, env=env)

    assert json.loads(result.stdout.splitlines()[-1]) == [200, []], result.stderr
