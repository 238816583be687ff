"""Hostile Markdown is neutralised: nothing that runs code or restyles the page survives into the essay page."""

from __future__ import annotations

import pytest

from apps.content.rendering import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, render_markdown
from harness.project import production_env, run_python

from .html_audit import audit, xml_document

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"

# Known XSS vectors, in Markdown and raw HTML (Markdown passes raw HTML through, so the sanitiser must not).
XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    '<img src="javascript:alert(1)">',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](javascript&#58;alert(1))",
    '<a href="jav&#x09;ascript:alert(1)">tab</a>',
    '<a href="&#106;avascript:alert(1)">entity</a>',
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![pixel](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "[vb](vbscript:msgbox(1))",
    '<a href="https://ok.example" onclick="alert(1)">handler</a>',
    '[title](https://example.org "x\\" onmouseover=\\"alert(1)")',
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<iframe src="https://evil.example"></iframe>',
    '<object data="javascript:alert(1)"></object>',
    '<embed src="https://evil.example/x.swf">',
    '<form action="https://evil.example"><input name="q"><button>Go</button></form>',
    "<body onload=alert(1)>",
    "<details open ontoggle=alert(1)>",
    '<meta http-equiv="refresh" content="0;url=https://evil.example">',
    '<base href="https://evil.example/">',
    '<link rel="stylesheet" href="https://evil.example/x.css">',
    "<style>body { display: none }</style>",
    '<p style="position:fixed;top:0;left:0;width:100%;height:100%">overlay</p>',
    "<div style=\"background:url('javascript:alert(1)')\">css</div>",
    '<p class="preview-banner">fake staff banner</p>',
    "<!--><script>alert(1)</script>-->",
    '<a href="https://ok.example"><img src=x onerror=alert(1)></a>',
    "```\n</code></pre><script>alert(1)</script>\n```",
    "`<script>alert(1)</script>`",
]


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_xss_payload_does_not_survive_in_the_essay_page(client, make_essay, payload):
    make_essay("hostile", body=f"Before the payload.\n\n{payload}\n\nAfter the payload.")

    response = client.get("/essays/hostile/")

    assert response.status_code == 200
    page = audit(response.content.decode())
    assert page.problems == []
    assert page.prose_tags <= ALLOWED_TAGS
    allowed_attributes = {(tag, name) for tag, names in ALLOWED_ATTRIBUTES.items() for name in names} | {("a", "rel")}
    assert page.prose_attributes <= allowed_attributes
    assert "Before the payload." in "".join(page.prose_text)


def test_xss_payloads_do_not_survive_in_the_feed(client, make_essay):
    make_essay("hostile", body="\n\n".join(XSS_PAYLOADS))

    entry = xml_document(client.get("/feed/").content).find(f"{ATOM}entry")

    # Feed readers render <content type="html"> as HTML: it must be as clean as the page.
    for element in ("content", "summary"):
        assert audit(entry.find(f"{ATOM}{element}").text or "").problems == []


def test_hostile_title_is_escaped_on_list_detail_and_feed(client, make_essay):
    make_essay("hostile-title", title='"><script>alert(1)</script><img src=x onerror=alert(1)>')

    for url in ("/", "/essays/hostile-title/"):
        assert audit(client.get(url).content.decode()).problems == []
    feed_title = xml_document(client.get("/feed/").content).find(f"{ATOM}entry/{ATOM}title")
    assert feed_title.text == '"><script>alert(1)</script><img src=x onerror=alert(1)>'


def test_the_allowed_markdown_survives_intact():
    html = render_markdown(
        "## A heading\n\nSome *emphasis*, **strong** and `code`.\n\n"
        "- one\n- two\n\n3. three\n4. four\n\n> A quotation.\n\n"
        "```\nprint('hi')\n```\n\n"
        '[a link](https://example.org/page "Title") and [mail](mailto:ed@example.org)\n\n'
        "![A photo](https://images.example.org/photo.jpg)"
    )

    for fragment in (
        "<h2>A heading</h2>",
        "<em>emphasis</em>",
        "<strong>strong</strong>",
        "<code>code</code>",
        "<li>one</li>",
        '<ol start="3">',
        "<blockquote>",
        "<pre><code>print('hi')",
        '<a href="https://example.org/page" title="Title" rel="noopener noreferrer">a link</a>',
        '<a href="mailto:ed@example.org" rel="noopener noreferrer">mail</a>',
        '<img alt="A photo" src="https://images.example.org/photo.jpg">',
    ):
        assert fragment in html


@pytest.mark.parametrize(
    "source",
    ["![x](data:image/png;base64,iVBORw0KGgo=)", "![x](/media/covers/x.png)", "![x](ftp://example.org/x.png)"],
    ids=["data", "relative", "ftp"],
)
def test_images_keep_only_absolute_http_sources(source):
    assert "src=" not in render_markdown(source)


def test_markdown_and_nh3_load_on_first_use_not_at_start_up():
    code = (
        "import sys, config.wsgi\n"
        "from django.urls import resolve\n"
        "resolve('/'); resolve('/feed/')\n"
        "print(sorted(name for name in ('markdown', 'nh3') if name in sys.modules))\n"
        "from apps.content.rendering import render_markdown\n"
        "render_markdown('*hi*')\n"
        "print(sorted(name for name in ('markdown', 'nh3') if name in sys.modules))\n"
    )
    result = run_python(code, env=production_env())

    assert result.stdout.split("\n")[:2] == ["[]", "['markdown', 'nh3']"], result.stderr
