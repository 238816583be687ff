"""Essay bodies: Markdown in, sanitised HTML out, plus the excerpt and reading time the list shows.

Markdown passes raw HTML through by design, so its output is never trusted: nh3 keeps only ALLOWED_TAGS and
ALLOWED_ATTRIBUTES below, the one allow-list. Both libraries are imported on first use, not at start-up, so a
cold serverless start that only answers /health/ never pays for them.

An essay's HTML and excerpt are rendered when it is saved and stored beside the body with the digest of the body
they were made from and RENDERER, the digest of everything else they depend on. A page serves the stored copy only
while both still match: a body written without save() (QuerySet.update, SQL, a release that predates the columns)
or a new renderer is rendered again, never shown stale (apps/content/stored_rendering.py refreshes such rows).
"""

from __future__ import annotations

import functools
import hashlib
import html
import math
import re
from typing import NamedTuple
from urllib.parse import urlsplit

from django.utils.safestring import SafeString, mark_safe

# The one allow-list: headings, paragraphs, lists, links, emphasis, code, quotes, images. Nothing that carries
# style (no style attribute, no class) or behaviour (no script, no event handler, no form, no iframe).
ALLOWED_TAGS = frozenset(
    {
        *("h1", "h2", "h3", "h4", "h5", "h6", "p", "br", "hr"),
        *("ul", "ol", "li", "a", "em", "strong", "del", "code", "pre", "blockquote", "img"),
    }
)
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "ol": {"start"}}
LINK_SCHEMES = frozenset({"http", "https", "mailto"})
IMAGE_SCHEMES = frozenset({"http", "https"})
# Tags whose text is dropped along with them: their content is code or CSS, never prose.
DROPPED_WITH_CONTENT = frozenset({"script", "style"})
MARKDOWN_EXTENSIONS = ("fenced_code", "sane_lists", "smarty")

WORDS_PER_MINUTE = 230
EXCERPT_WORDS = 40
_TAG = re.compile(r"<[^>]*>")

# The libraries stored HTML was made with, written out because asking the installed packages costs more at a
# cold start than importing markdown itself; tests/content/test_stored_rendering.py holds it to them, so a lock
# that upgrades either fails until this line follows. REVISION: raise it when the code below changes its output.
LIBRARIES = "markdown 3.11.3, nh3 0.3.8"
REVISION = 1
RENDERER = hashlib.sha256(  # 64 hex digits, the length of Essay.rendered_with
    repr(
        (
            LIBRARIES,
            REVISION,
            sorted(ALLOWED_TAGS),
            sorted((tag, sorted(names)) for tag, names in ALLOWED_ATTRIBUTES.items()),
            sorted(LINK_SCHEMES),
            sorted(IMAGE_SCHEMES),
            sorted(DROPPED_WITH_CONTENT),
            MARKDOWN_EXTENSIONS,
            EXCERPT_WORDS,
        )
    ).encode()
).hexdigest()


def _keep_attribute(tag: str, attribute: str, value: str) -> str | None:
    # nh3 already refuses schemes outside url_schemes; images are narrower still: absolute http(s) only, so no
    # data: payloads and no relative paths that would point into the site itself.
    if tag == "img" and attribute == "src" and urlsplit(value).scheme.lower() not in IMAGE_SCHEMES:
        return None
    return value


def sanitise(fragment: str) -> str:
    """Reduce an HTML fragment to the allow-list."""
    import nh3

    return nh3.clean(
        fragment,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=_keep_attribute,
        url_schemes=set(LINK_SCHEMES),
        link_rel="noopener noreferrer",
    )


@functools.lru_cache(maxsize=256)
def render_markdown(text: str) -> SafeString:
    """Markdown to HTML that is safe to put in a page; memoised per process, keyed by the text itself."""
    import markdown

    rendered = markdown.markdown(text or "", extensions=list(MARKDOWN_EXTENSIONS), output_format="html")
    return mark_safe(sanitise(rendered))  # noqa: S308 - sanitise() has just reduced it to the allow-list


def excerpt(text: str, words: int = EXCERPT_WORDS) -> str:
    """Plain text from the first paragraph that is not a heading, cut at a word boundary."""
    for block in re.split(r"\n\s*\n", text or ""):
        block = block.strip()
        if block and not block.startswith(("#", "```", "    ", ">", "![")):
            plain = html.unescape(_TAG.sub("", render_markdown(block))).split()
            return " ".join(plain[:words]) + ("…" if len(plain) > words else "")
    return ""


def body_digest(body: str | None) -> str:
    """Which body a rendering was made from: 64 hex digits, the length of Essay.rendered_from."""
    return hashlib.sha256((body or "").encode()).hexdigest()


class Rendered(NamedTuple):
    """Essay's stored rendering, field by field."""

    rendered_html: str
    rendered_excerpt: str
    rendered_from: str
    rendered_with: str


def render_essay(body: str | None) -> Rendered:
    """What save() stores: the body's HTML and excerpt, and what they were made from and with."""
    return Rendered(str(render_markdown(body or "")), excerpt(body or ""), body_digest(body), RENDERER)


def is_current(body: str | None, rendered_from: str | None, rendered_with: str | None) -> bool:
    """Whether a stored rendering may be served for `body`: made from exactly it, by this renderer."""
    return rendered_with == RENDERER and rendered_from == body_digest(body)


def reading_minutes(word_count: int | None) -> int:
    return max(1, math.ceil((word_count or 0) / WORDS_PER_MINUTE))
