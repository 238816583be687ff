"""The rehearsal's pure parts: the pre-check's rules and the admin-form generator, on the shapes they meet."""

from __future__ import annotations

import http.server
import threading
import time

import pytest

from apps.core.rehearsal.forms import Form, Unfillable, fill
from apps.core.rehearsal.precheck import findings
from apps.core.rehearsal.report import failure_kind, traceback_for
from apps.core.rehearsal.traffic import Routing, Traffic, sitemap_paths
from harness.ports import free_port

OLD = [{"label": "notes.Note", "table": "notes_note", "columns": ["id", "text", "title"]}]


def test_precheck_names_a_column_the_old_models_select_that_is_gone_and_what_came_instead():
    after = {"notes_note": {"id": (False, True), "title": (False, False), "body": (False, False)}}

    found = findings(OLD, after)

    assert any("notes_note.text is gone" in line and "new columns there: body" in line for line in found)


def test_precheck_names_a_not_null_column_without_default_the_old_inserts_do_not_write():
    columns = {"id": (False, True), "title": (False, False), "text": (False, False), "pinned": (False, False)}
    after = {"notes_note": {**columns, "nullable": (True, False), "defaulted": (False, True)}}

    found = findings(OLD, after)

    assert len(found) == 1 and "notes_note.pinned is NOT NULL without a database default" in found[0]


def test_precheck_names_a_renamed_table_and_passes_a_compatible_schema():
    compatible = {"notes_note": {"id": (False, True), "title": (False, False), "text": (False, False),
                                 "body": (True, False)}}  # fmt: skip

    assert findings(OLD, compatible) == []
    assert "table notes_note is gone" in findings(OLD, {"notes_memo": compatible["notes_note"]})[0]


PAGE = """<form id="essay_form" method="post">
<input type="hidden" name="csrfmiddlewaretoken" value="tok">
<input type="text" name="title" maxlength="20" required id="id_title">
<input type="text" name="slug" value="kept-slug" maxlength="200" required>
<select name="author" required><option value="">---</option><option value="7">ed</option></select>
<textarea name="body">
old body</textarea>
<input type="text" name="published_at_0" class="vDateField" value="">
<input type="text" name="published_at_1" class="vTimeField" value="">
<input type="file" name="cover">
<input type="submit" name="_save" value="Save">
</form>"""


def test_the_generator_fills_an_add_form_and_keeps_a_slug_on_change():
    form = Form.parse(PAGE)

    added = fill(form, token="r1-5", words=3, adding=True)
    changed = fill(form, token="r1-6", words=4, adding=False)

    assert added["csrfmiddlewaretoken"] == ["tok"] and added["author"] == ["7"]
    assert len(added["title"][0]) <= 20 and "r1-5" in added["title"][0]
    assert added["slug"] == ["r1-5"] and changed["slug"] == ["kept-slug"]
    assert added["body"][0].endswith("word0 word1 word2") and "_save" not in added
    assert added["published_at_0"] == ["2026-01-01"] and added["published_at_1"] == ["12:00:00"]
    assert "cover" not in added


def test_the_generator_names_a_required_field_it_cannot_fill():
    form = Form.parse('<form id="x_form"><input type="file" name="scan" required></form>')

    with pytest.raises(Unfillable, match="scan"):
        fill(form, token="t", words=1, adding=True)


def test_the_traceback_of_a_failed_request_and_its_exception_line_come_from_the_release_log():
    log = "\n".join([
        'ERROR 2026-12-02 request_id abc Internal Server Error: /admin/notes/note/add/',
        "Traceback (most recent call last):",
        '  File "x.py", line 1, in f',
        'psycopg.errors.UndefinedColumn: column "text" of relation "notes_note" does not exist',
        '127.0.0.1 - - [02/Dec/2026:09:41:27 +0000] "POST /admin/notes/note/add/ HTTP/1.1" 500 145',
    ])  # fmt: skip

    trace, error = traceback_for(log, "/admin/notes/note/add/")

    assert trace.startswith("ERROR") and "HTTP/1.1" not in trace
    assert error.startswith("psycopg.errors.UndefinedColumn")


SITEMAPS = {
    "flat": {
        "/sitemap.xml": "<urlset><url><loc>http://h/essays/a/</loc></url><url><loc>http://h/</loc></url></urlset>"
    },
    "index": {
        "/sitemap.xml": "<sitemapindex><sitemap><loc>http://h/sitemap-essays.xml</loc></sitemap>"
        "<sitemap><loc>http://h/sitemap-essays.xml?p=2</loc></sitemap></sitemapindex>",
        "/sitemap-essays.xml": "<urlset><url><loc>http://h/essays/a/</loc></url></urlset>",
    },
}


@pytest.mark.parametrize(
    ("site", "expected"),
    [
        ("flat", ["/essays/a/", "/"]),
        ("index", ["/sitemap-essays.xml", "/sitemap-essays.xml?p=2", "/essays/a/"]),
    ],
)
def test_the_readers_pages_come_from_a_sitemap_or_through_a_sitemap_index(site, expected):
    documents = SITEMAPS[site]

    class Sitemaps(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # http.server's name
            body = documents.get(self.path, "").encode()
            self.send_response(200 if body else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Sitemaps)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        assert sitemap_paths(f"http://127.0.0.1:{server.server_address[1]}") == expected
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def test_a_project_hook_sends_through_the_routing_and_a_hook_that_raises_is_one_failure_of_its_own():
    sent: list[str] = []

    def pages(visit):
        sent.append(visit("/?page=2").error)

    def broken(visit):
        visit("/")
        raise ValueError("no such page in the fixture")

    routing = Routing()
    # A closed port: each visit is recorded as the readers' requests are, with its connection error.
    routing.set("before", {"previous": f"http://127.0.0.1:{free_port()}"})
    traffic = Traffic(routing=routing, read_paths=[], admin_models=[], token="t", hooks=[pages, broken])
    traffic.start()
    deadline = time.monotonic() + 30
    while len(sent) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    traffic.stop()

    requests = {result.request for result in traffic.results}
    assert {"GET /?page=2", "GET /"} <= requests
    raised = [result for result in traffic.results if result.request.startswith("hook ")]
    assert len(raised) == 1 and raised[0].error == "hook: ValueError: no such page in the fixture"
    assert failure_kind(raised[0], set()) == "hook"
    assert sent[0].startswith("connection")
