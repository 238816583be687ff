"""Read a page the way a browser would and list everything in it that could run code or restyle the page."""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from html.parser import HTMLParser

# Schemes that execute or embed content when followed or loaded.
DANGEROUS_SCHEME = re.compile(r"^(javascript|data|vbscript|file):", re.IGNORECASE)
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "poster", "background", "srcset", "data"}
ACTIVE_TAGS = {"script", "style", "iframe", "object", "embed", "form", "input", "svg", "math", "base", "frame"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Audit(HTMLParser):
    """Problems anywhere in the page, and the tags found inside the essay body (div.prose)."""

    problems: list[str] = field(default_factory=list)
    prose_tags: set[str] = field(default_factory=set)
    prose_attributes: set[tuple[str, str]] = field(default_factory=set)
    prose_text: list[str] = field(default_factory=list)
    _prose_depth: int = 0

    def __post_init__(self) -> None:
        super().__init__(convert_charrefs=True)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ACTIVE_TAGS:
            self.problems.append(f"<{tag}> element")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"event handler {name} on <{tag}>")
            if name == "style":
                self.problems.append(f"style attribute on <{tag}>")
            if name in URL_ATTRIBUTES and value is not None:
                # Browsers ignore whitespace and control characters inside a scheme ("jav\tascript:").
                squeezed = re.sub(r"[\x00-\x20]", "", html.unescape(value))
                if DANGEROUS_SCHEME.match(squeezed):
                    self.problems.append(f"{name}={value!r} on <{tag}>")
        if tag == "meta" and any(name == "http-equiv" for name, _ in attrs):
            self.problems.append("<meta http-equiv>")
        if self._prose_depth:
            self.prose_tags.add(tag)
            self.prose_attributes |= {(tag, name) for name, _ in attrs}
            if tag not in VOID:
                self._prose_depth += 1
        elif tag == "div" and ("class", "prose") in attrs:
            self._prose_depth = 1

    def handle_endtag(self, tag: str) -> None:
        if self._prose_depth and tag not in VOID:
            self._prose_depth -= 1

    def handle_data(self, data: str) -> None:
        if self._prose_depth:
            self.prose_text.append(data)


def audit(page: str) -> Audit:
    result = Audit()
    result.feed(page)
    result.close()
    return result


def xml_document(data: bytes) -> ET.Element:
    return ET.fromstring(data)  # noqa: S314 - the site's own feed and sitemap, the very output under test
