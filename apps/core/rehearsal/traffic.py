"""Traffic for the whole rehearsal, bounded in rate and time, loopback only: readers fetching every page a visitor
can reach without an id (the sitemap's and the argument-free URL patterns'), one editor writing through the admin
(add and change forms of the project's own models), and the project's own hooks (`traffic(visit)` in an app's
`rehearsal.py`), each request sent to whichever release(s) serve now.

One editor, so writes happen in a known order and the last recorded write of a row is what must be read back.
"""

from __future__ import annotations

import contextlib
import http.client
import itertools
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from .forms import Form, Unfillable, comparable, fill

# A request slower than this counts as a timeout: far above any page of a healthy site, below Gunicorn's 120 s.
REQUEST_TIMEOUT = 30.0
# Each reader pauses this long between requests: a steady load that a 2-core CI machine can carry beside the
# migrations it must not starve.
READ_PAUSE = 0.05
WRITE_PAUSE = 0.05
READERS = 2
SITEMAP_PAGES = 40
SITEMAP_SECTIONS = 3
LOC = re.compile(r"<loc>([^<]+)</loc>")
CHANGE_URL = re.compile(r"/(\d+)/change/")
CHANGE_LINK = re.compile(r'href="([^"]*/(\d+)/change/)[^"]*"')


@dataclass
class Result:
    phase: str
    release: str  # "previous" or "next"
    kind: str  # "read" or "write"
    request: str  # "GET /feed/" or "POST add content.Essay"
    path: str  # the URL path it went to
    status: int | None  # None: no HTTP answer
    error: str  # "connection: …", "timeout", or ""
    seconds: float
    at: float


@dataclass
class Write:
    model: str
    pk: str
    change_url: str
    values: dict[str, list[str]]
    release: str
    phase: str
    at: float


@dataclass
class Answer:
    status: int | None
    headers: dict[str, str]
    body: str
    error: str
    seconds: float


class Client:
    """One HTTP/1.1 conversation per request, with the admin's cookies kept by hand: the production settings mark
    them Secure, which a browser would not send over the loopback's plain HTTP, but Django does not check."""

    def __init__(self) -> None:
        self.cookies: dict[str, str] = {}

    def send(self, base_url: str, method: str, path: str, form: dict[str, list[str]] | None = None) -> Answer:
        parts = urlsplit(base_url)
        headers = {"Host": parts.hostname or "127.0.0.1"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode([(k, v) for k, values in form.items() for v in values]).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = base_url + path
        started = time.monotonic()
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=REQUEST_TIMEOUT)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode("utf-8", errors="replace")
            for header, value in response.getheaders():
                if header.lower() == "set-cookie":
                    name, _, rest = value.partition("=")
                    self.cookies[name.strip()] = rest.split(";", 1)[0]
            return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, text, "", _since(started))
        except TimeoutError:
            return Answer(None, {}, "", "timeout", _since(started))
        except OSError as exc:
            return Answer(None, {}, "", f"connection: {exc}", _since(started))
        except http.client.HTTPException as exc:
            return Answer(None, {}, "", f"connection: {type(exc).__name__} {exc}", _since(started))
        finally:
            connection.close()


def _since(started: float) -> float:
    return time.monotonic() - started


class Routing:
    """Which releases serve now, and the phase the deploy is in; requests alternate between the serving ones. A
    release taken out of the rotation is stopped only once its requests in flight are answered, as a load
    balancer's deregistration delay does."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self.phase = "before"
        self.serving: dict[str, str] = {}  # release role → base URL
        self._turn = itertools.count()
        self._in_flight: dict[str, int] = {}

    def set(self, phase: str, serving: dict[str, str]) -> None:
        with self._lock:
            self.phase, self.serving = phase, dict(serving)

    @contextlib.contextmanager
    def route(self, prefer: str = "") -> Iterator[tuple[str, str, str]]:
        """A serving release in turn, or `prefer` while it still serves."""
        with self._lock:
            roles = sorted(self.serving)
            role = prefer if prefer in self.serving else roles[next(self._turn) % len(roles)]
            self._in_flight[role] = self._in_flight.get(role, 0) + 1
            chosen = (self.phase, role, self.serving[role])
        try:
            yield chosen
        finally:
            with self._lock:
                self._in_flight[role] -= 1
                self._lock.notify_all()

    def drained(self, role: str, *, within: float) -> bool:
        """Until no request is in flight to `role` (which no longer gets new ones)."""
        with self._lock:
            return self._lock.wait_for(lambda: not self._in_flight.get(role), timeout=within)


# A project's hook: one round of traffic the readers cannot find, sent through `visit(path, method="GET", form=None)`,
# which routes and records each request as the readers' are; called again after READ_PAUSE until the rehearsal ends.
Visit = Callable[..., Answer]
Hook = Callable[[Visit], object]


@dataclass
class Traffic:
    routing: Routing
    read_paths: list[str]
    admin_models: list[dict[str, str]]  # {"label", "add"} from the previous release
    token: str
    hooks: list[Hook] = field(default_factory=list)
    results: list[Result] = field(default_factory=list)
    writes: list[Write] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # model label → the field it could not fill
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)
    _counter: itertools.count = field(default_factory=itertools.count)
    editor: Client = field(default_factory=Client)

    def _record(self, result: Result) -> None:
        with self._lock:
            self.results.append(result)

    def _answer(
        self, kind: str, request: str, method: str, path: str, form=None, *, client: Client, prefer: str = ""
    ) -> tuple[Answer, Result]:
        with self.routing.route(prefer) as (phase, role, base):
            answer = client.send(base, method, path, form)
        result = Result(phase, role, kind, request, path, answer.status, answer.error, answer.seconds, time.time())
        self._record(result)
        return answer, result

    def login(self, base_url: str, username: str, password: str) -> None:
        page = self.editor.send(base_url, "GET", "/admin/login/?next=/admin/")
        csrf = _csrf(page.body)
        answer = self.editor.send(
            base_url,
            "POST",
            "/admin/login/?next=/admin/",
            {"csrfmiddlewaretoken": [csrf], "username": [username], "password": [password], "next": ["/admin/"]},
        )
        if answer.status != 302:
            raise RuntimeError(f"the admin login answered {answer.status}, not a redirect: {answer.body[:300]}")

    # Readers ---------------------------------------------------------------------------------------------------
    def _read_loop(self, offset: int) -> None:
        client = Client()
        paths = self.read_paths[offset:] + self.read_paths[:offset]
        for path in itertools.cycle(paths):
            if self._stop.is_set():
                return
            self._answer("read", f"GET {path}", "GET", path, client=client)
            time.sleep(READ_PAUSE)

    def _hook_loop(self, hook: Hook) -> None:
        client = Client()
        last: list[Result] = []

        def visit(path: str, method: str = "GET", form: dict[str, list[str]] | None = None) -> Answer:
            answer, result = self._answer("read", f"{method} {path}", method, path, form, client=client)
            last[:] = [result]
            return answer

        name = f"{hook.__module__}.{hook.__qualname__}"
        while not self._stop.is_set():
            try:
                hook(visit)
            except Exception as exc:  # the project's code: one failure of its own kind, and the hook stops
                phase, role = (last[0].phase, last[0].release) if last else (self.routing.phase, "previous")
                error = f"hook: {type(exc).__name__}: {exc}"
                self._record(Result(phase, role, "read", f"hook {name}", "", None, error, 0.0, time.time()))
                return
            time.sleep(READ_PAUSE)

    # The editor ------------------------------------------------------------------------------------------------
    def _write_loop(self) -> None:
        changeable: dict[str, list[str]] = {}  # model → change URLs of rows it may edit
        for model in itertools.cycle(self.admin_models):
            if self._stop.is_set():
                return
            if model["label"] in self.skipped:
                if len(self.skipped) == len(self.admin_models):
                    self._stop.wait(0.5)
                continue
            self._write(model, None, changeable)
            targets = changeable.get(model["label"], [])
            if targets:
                # Alternately a row this rehearsal made and one that was there before (the backfill's rows).
                self._write(model, targets[next(self._counter) % len(targets)], changeable)
            time.sleep(WRITE_PAUSE)

    def _write(self, model: dict[str, str], change_url: str | None, changeable: dict[str, list[str]]) -> None:
        label = model["label"]
        url = change_url or model["add"]
        request = f"{'change' if change_url else 'add'} {label}"
        page, shown = self._answer("write", f"GET {request}", "GET", url, client=self.editor)
        if page.status != 200:
            return
        if not change_url and label not in changeable:
            changeable[label] = _existing_rows(self, model, label)
        form = Form.parse(page.body)
        number = next(self._counter)
        try:
            values = fill(form, token=f"{self.token}-{number}", words=number % 17, adding=change_url is None)
        except Unfillable as exc:
            self.skipped[label] = str(exc)
            return
        values["_continue"] = ["1"]
        # The form goes back to the release that rendered it, as a session-affine balancer would send it: a form
        # of one release posted to another is a compatibility question of its own, not the schema's.
        answer, sent = self._answer(
            "write", f"POST {request}", "POST", url, values, client=self.editor, prefer=shown.release
        )
        phase, role = sent.phase, sent.release
        if answer.status == 200:
            problems = Form.parse(answer.body).errors
            self.skipped.setdefault(label, f"the form refused the generated values: {'; '.join(problems)[:200]}")
            return
        found = CHANGE_URL.search(answer.headers.get("location", "")) if answer.status == 302 else None
        if found is None:
            return
        target = urlsplit(answer.headers["location"]).path
        with self._lock:
            self.writes.append(Write(label, found.group(1), target, comparable(values, form), role, phase, time.time()))
        if not change_url:
            changeable.setdefault(label, []).append(target)

    # Control ---------------------------------------------------------------------------------------------------
    def start(self) -> None:
        if self.read_paths:
            for offset in range(READERS):
                start = offset * len(self.read_paths) // READERS
                self._threads.append(threading.Thread(target=self._read_loop, args=(start,), daemon=True))
        if self.admin_models:
            self._threads.append(threading.Thread(target=self._write_loop, daemon=True))
        for hook in self.hooks:
            self._threads.append(threading.Thread(target=self._hook_loop, args=(hook,), daemon=True))
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=REQUEST_TIMEOUT + 5)

    def writes_in(self, phase: str, role: str) -> int:
        with self._lock:
            return sum(1 for w in self.writes if w.phase == phase and w.release == role)

    def posts_in(self, phase: str, role: str) -> int:
        """Writes attempted, whatever their answer: a release whose every write fails has still been written to."""
        with self._lock:
            return sum(
                1 for r in self.results if r.phase == phase and r.release == role and r.request.startswith("POST")
            )

    def requests_in(self, phase: str, role: str) -> int:
        with self._lock:
            return sum(1 for r in self.results if r.phase == phase and r.release == role)


def project_hooks(labels: list[str]) -> list[Hook]:
    """`traffic` of `<app>.rehearsal` for the project's apps (`labels`), from the tree `manage.py rehearse` runs
    in: the hooks are the project's, whichever releases it rehearses."""
    from django.apps import apps

    from .probe import rehearsal_modules

    configs = [config for config in apps.get_app_configs() if config.label in labels]
    return [hook for module in rehearsal_modules(configs) if callable(hook := getattr(module, "traffic", None))]


def _existing_rows(traffic: Traffic, model: dict[str, str], label: str) -> list[str]:
    """A few rows that were there before the rehearsal wrote (the first page of the changelist)."""
    changelist = model["add"].rsplit("add/", 1)[0]
    page, _ = traffic._answer("write", f"GET changelist {label}", "GET", changelist, client=traffic.editor)
    if page.status != 200:
        return []
    return [link for link, _ in CHANGE_LINK.findall(page.body)][:5]


def _csrf(page: str) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    return found.group(1) if found else ""


def sitemap_paths(base_url: str) -> list[str]:
    """The pages the release's sitemap lists (its first SITEMAP_PAGES), for the readers. A sitemap index is
    followed: its first SITEMAP_SECTIONS sitemaps are pages too, and the first of them lists the pages."""
    client = Client()
    answer = client.send(base_url, "GET", "/sitemap.xml")
    if answer.status != 200:
        return []
    sections: list[str] = []
    if "<sitemapindex" in answer.body:
        sections = [_path_and_query(loc) for loc in LOC.findall(answer.body)][:SITEMAP_SECTIONS]
        answer = client.send(base_url, "GET", sections[0]) if sections else answer
        if answer.status != 200 or "<sitemapindex" in answer.body:
            return sections
    return sections + [urlsplit(loc).path or "/" for loc in LOC.findall(answer.body)][:SITEMAP_PAGES]


def _path_and_query(url: str) -> str:
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def readable(base_url: str, paths: list[str]) -> tuple[list[str], dict[str, str]]:
    """The paths the previous release answers (< 400) before anything changes, and the others with their answer:
    an endpoint that needs a secret or a service the rehearsal does not run (Vercel's cron) is not a page."""
    client, kept, left = Client(), [], {}
    for path in paths:
        answer = client.send(base_url, "GET", path)
        if answer.status is not None and answer.status < 400:
            kept.append(path)
        else:
            left[path] = str(answer.status or answer.error)
    return kept, left


def read_back(base_url: str, client: Client, writes: list[Write]) -> list[dict[str, object]]:
    """The last recorded write of each row, read back field by field through `base_url` (the next release's
    admin): a row that is gone is lost, a value that differs is corrupted, a field the form no longer has is
    reported as not compared."""
    last: dict[tuple[str, str], Write] = {}
    for write in writes:
        last[(write.model, write.pk)] = write
    problems: list[dict[str, object]] = []
    for write in last.values():
        answer = client.send(base_url, "GET", write.change_url)
        if answer.status in (302, 404):
            problems.append(write_problem(write, "lost"))
            continue
        if answer.status != 200:
            problems.append(write_problem(write, "unreadable", read=answer.status or answer.error))
            continue
        form = Form.parse(answer.body)
        now = comparable(form.current(), form)
        for name, value in write.values.items():
            if name in now and now[name] != value:
                problems.append(write_problem(write, "corrupted", field=name, written=value, read=now[name]))
    return problems


def write_problem(write: Write, kind: str, *, field: str | None = None, written=None, read=None) -> dict[str, object]:
    """A lost, unreadable or corrupted write, with who wrote it last and when."""
    return {"model": write.model, "pk": write.pk, "kind": kind, "field": field, "written": written, "read": read,
            "release": write.release, "phase": write.phase}  # fmt: skip
