"""An admin add or change form as the release rendered it, and the values a generator fills it with.

The form is read from the page, not from the current tree's models: each release is written through its own admin,
whatever fields it has. A field the generator cannot fill (a required file, a required choice with no options)
makes the model "skipped", named with the field.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

PASSWORD = "Rehearse-" + "pW7" * 6
NOT_TYPED = {"submit", "button", "image", "reset"}
# Fields that name a row in URLs or logins: set when a row is added, kept when it is changed.
IDENTIFIES = re.compile(r"slug|username", re.IGNORECASE)


@dataclass
class Field:
    name: str
    kind: str  # input type, "textarea" or "select"
    value: str = ""
    required: bool = False
    checked: bool = False
    maxlength: int | None = None
    css: str = ""
    options: list[str] = field(default_factory=list)
    selected: list[str] = field(default_factory=list)
    multiple: bool = False


class _FormParser(HTMLParser):
    """The fields of the admin's main form (`<form … id="<model>_form">`), in page order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.fields: list[Field] = []
        self.errors: list[str] = []
        self._in_form = False
        self._textarea: Field | None = None
        self._select: Field | None = None
        self._in_error = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {key: value or "" for key, value in attrs}
        if tag == "form" and a.get("id", "").endswith("_form"):
            self._in_form = True
        if not self._in_form:
            return
        if tag == "ul" and "errorlist" in a.get("class", ""):
            self._in_error += 1
        if tag == "input" and a.get("name"):
            self.fields.append(
                Field(
                    name=a["name"],
                    kind=a.get("type", "text").lower(),
                    value=a.get("value", ""),
                    required="required" in a,
                    checked="checked" in a,
                    maxlength=int(a["maxlength"]) if a.get("maxlength", "").isdigit() else None,
                    css=a.get("class", ""),
                )
            )
        elif tag == "textarea" and a.get("name"):
            self._textarea = Field(name=a["name"], kind="textarea", required="required" in a)
            self.fields.append(self._textarea)
        elif tag == "select" and a.get("name"):
            self._select = Field(name=a["name"], kind="select", required="required" in a, multiple="multiple" in a)
            self.fields.append(self._select)
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            self._select.options.append(value)
            if "selected" in a:
                self._select.selected.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False
        elif tag == "textarea" and self._textarea is not None:
            # HTML drops the one newline Django writes after <textarea>.
            self._textarea.value = self._textarea.value.removeprefix("\n")
            self._textarea = None
        elif tag == "select":
            self._select = None
        elif tag == "ul" and self._in_error:
            self._in_error -= 1

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea.value += data
        elif self._in_error and data.strip():
            self.errors.append(data.strip())


@dataclass
class Form:
    fields: list[Field]
    errors: list[str]

    @classmethod
    def parse(cls, page: str) -> Form:
        parser = _FormParser()
        parser.feed(page)
        return cls(fields=parser.fields, errors=parser.errors)

    def current(self) -> dict[str, list[str]]:
        """What the browser would send unchanged: the values as rendered."""
        sent: dict[str, list[str]] = {}
        for f in self.fields:
            if f.kind in NOT_TYPED or f.kind == "file":
                continue
            if f.kind in {"checkbox", "radio"}:
                if f.checked:
                    sent.setdefault(f.name, []).append(f.value or "on")
            elif f.kind == "select":
                sent[f.name] = list(f.selected)
            else:
                sent[f.name] = [f.value]
        return sent


class Unfillable(Exception):
    """The form has a required field the generator cannot fill; the message names it."""


def _text(f: Field, token: str) -> str:
    lowered = f.name.lower()
    if f.kind == "email" or "email" in lowered:
        text = f"{token}@example.org"
    elif f.kind == "url":
        text = f"https://example.org/{token}"
    elif f.kind == "number":
        return f.value or "1"
    elif IDENTIFIES.search(lowered):
        text = token
    else:
        text = f"Rehearsal {token}"
    return text[-f.maxlength :] if f.maxlength else text


def _body(words: int, token: str) -> str:
    return f"Rehearsal {token}\n\n" + " ".join(f"word{n}" for n in range(words))


def fill(form: Form, *, token: str, words: int, adding: bool) -> dict[str, list[str]]:
    """New values for every fillable field of `form`: texts carry `token` (unique per write), bodies `words` extra
    words (so a stale count shows). Raises Unfillable naming a required field it cannot fill."""
    sent = form.current()
    radios_seen: set[str] = set()
    for f in form.fields:
        if f.name.startswith(("initial-", "csrfmiddlewaretoken")) or f.kind in NOT_TYPED | {"hidden", "checkbox"}:
            continue
        if f.kind == "file":
            if f.required and adding:
                raise Unfillable(f"{f.name} (a required file)")
            continue
        if f.kind == "radio":
            if f.name not in sent and f.name not in radios_seen:
                sent[f.name] = [f.value]
            radios_seen.add(f.name)
        elif f.kind == "select":
            choices = [option for option in f.options if option]
            if not f.selected or f.selected == [""]:
                if not choices and f.required:
                    raise Unfillable(f"{f.name} (a required choice with no options)")
                sent[f.name] = choices[:1] if choices and not f.multiple else []
        elif f.kind == "password":
            sent[f.name] = [PASSWORD]
        elif f.kind == "textarea":
            sent[f.name] = [_body(words, token)]
        elif "vDateField" in f.css or f.kind == "date":
            sent[f.name] = [f.value or "2026-01-01"]
        elif "vTimeField" in f.css or f.kind == "time":
            sent[f.name] = [f.value or "12:00:00"]
        elif f.kind in {"text", "email", "url", "number", "search", "tel"}:
            if not adding and f.value and IDENTIFIES.search(f.name):
                continue  # a changed slug would turn the readers' links into 404s that no deploy caused
            sent[f.name] = [_text(f, token)]
        elif f.required and not f.value:
            raise Unfillable(f"{f.name} (an input of type {f.kind})")
    return sent


def comparable(values: dict[str, list[str]], form: Form) -> dict[str, list[str]]:
    """The recorded values a read-back can hold the next release to: passwords are never rendered back."""
    secret = {f.name for f in form.fields if f.kind == "password"}
    return {
        name: [html.unescape(v).replace("\r\n", "\n").strip() for v in value]
        for name, value in values.items()
        if name not in secret and not name.startswith(("initial-", "csrfmiddlewaretoken", "_"))
    }
