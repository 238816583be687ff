"""A host dies, a link breaks or loses packets, under a bounded read load through lb: no reader sees a failure,
and a POST a dead host may have saved is never sent to the other one."""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid

import pytest
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from harness.hosts import ADMIN_URL
from harness.load import ReadLoad
from tests.hosts.conftest import SLUGS, Browser, essay_form, essays_with_slug, wait_for

pytestmark = pytest.mark.services

PATHS = ["/", *[f"/essays/{slug}/" for slug in SLUGS[:3]]]
# Bounded in count and time; the faults below happen well inside both.
MAX_REQUESTS = 8000
MAX_SECONDS = 150.0
THREADS = 4


def test_app1_killed_during_a_read_load_fails_no_get(bed):
    with ReadLoad(bed, PATHS, threads=4, max_requests=MAX_REQUESTS, max_seconds=MAX_SECONDS) as load:
        load.wait_for_requests(20, release="app1")
        killed_at = bed.kill_app("app1")
        load.wait_for_requests(100, release="app2", after=killed_at)
    first, last = load.window()
    print(f"\nkill: {load.summary()}")
    assert first < killed_at < last
    assert load.failures() == []


def queued_on(bed, host: str) -> bool:
    """Whether a connection to `host`'s Gunicorn holds bytes nobody has read (a request a stopped host took in)."""
    listing = bed.net.run(host, ["ss", "-Htn", "state", "established", "( sport = :8000 )"]).stdout
    return any(int(line.split()[0]) > 0 for line in listing.splitlines() if line.split())


def post_in_background(browser: Browser, path: str, body: bytes) -> tuple[threading.Thread, list]:
    answer: list = []
    post = threading.Thread(
        target=lambda: answer.append(browser.request("POST", path, body=body, content_type=MULTIPART_CONTENT))
    )
    post.start()
    return post, answer


def test_a_post_in_flight_on_a_killed_host_is_not_replayed_on_the_other(bed, editor):
    browser = editor
    add = f"/{ADMIN_URL}content/essay/add/"
    for _ in range(4):
        slug = f"in-flight-{uuid.uuid4().hex[:8]}"
        fields = {"csrfmiddlewaretoken": browser.form_token(add), **essay_form(bed, title=slug, slug=slug)}
        body = encode_multipart(BOUNDARY, fields)
        # app1 frozen: whatever nginx sends it is taken in by the kernel and never answered.
        os.killpg(bed.apps["app1"].process.pid, signal.SIGSTOP)
        post, answer = post_in_background(browser, add, body)
        # Either app2 answers it (then try again: round robin sends the next to app1) or app1 holds it.
        wait_for(lambda answer=answer: answer or queued_on(bed, "app1"), within=20, what="the POST reached a host")
        if not answer:
            break
        os.killpg(bed.apps["app1"].process.pid, signal.SIGCONT)
        post.join()
    else:
        raise AssertionError("no POST was held by app1")
    bed.kill_app("app1")
    post.join(60)
    print(f"\nPOST held by app1 when it was killed: answered {answer[0].status if answer else None}, "
          f"{essays_with_slug(bed, slug)} rows saved")  # fmt: skip
    assert answer and answer[0].status in (502, 504), answer
    assert answer[0].release == ""  # nginx's own error page: no host answered it
    assert essays_with_slug(bed, slug) == 0


# /health/ready's deadline (HEALTH_CHECK_TIMEOUT, 1.5 s) plus 2.5 s for a loaded 2-core machine to schedule the
# probe thread and the request.
READY_BOUND = 1.5 + 2.5
# A page whose kept-open database connection's link is cut: DB_QUERY_DEADLINE (5 s) + DATABASE_CONNECT_TIMEOUT (3 s)
# for Django's reconnect, plus the same 2.5 s margin.
DEAD_LINK_BOUND = 5 + 3 + 2.5
# After the link returns, app1 answers again within this without a restart (a new connection at once; the margin
# covers a loaded machine).
BACK_WITHIN = 10.0


def test_app1s_link_cut_and_then_lossy_during_a_read_load(bed):
    # Every thread of app1 holds a database connection (CONN_MAX_AGE) before its link is cut.
    warm = [
        threading.Thread(target=bed.ask_from_inside, args=("app1", f"/essays/{SLUGS[4]}/?warm={n}")) for n in range(8)
    ]
    for thread in warm:
        thread.start()
    for thread in warm:
        thread.join(30)
    with ReadLoad(bed, PATHS, threads=THREADS, max_requests=MAX_REQUESTS, max_seconds=MAX_SECONDS) as load:
        load.wait_for_requests(20, release="app1")
        cut_at = time.monotonic()
        bed.net.link_down("app1")

        ready, took = bed.ask_from_inside("app1", "/health/ready")
        assert ready.status == 503 and took < READY_BOUND, (ready.status, took, ready.text)
        page, page_took = bed.ask_from_inside("app1", f"/essays/{SLUGS[4]}/")
        assert page.status == 503 and page_took < DEAD_LINK_BOUND, (page.status, page_took)
        load.wait_for_requests(100, release="app2", after=cut_at)

        bed.net.link_up("app1")
        back_at = time.monotonic()
        wait_for(lambda: bed.ask_from_inside("app1", "/health/ready")[0].status == 200, within=BACK_WITHIN,
                 what="app1 ready again after its link returned")  # fmt: skip
        back = time.monotonic() - back_at
        # nginx tries it again after fail_timeout (10 s): app1 serves readers again.
        load.wait_for_requests(20, release="app1", after=back_at)

        how = bed.net.lossy_link("app1", 20)
        lossy_at = time.monotonic()
        load.wait_for_requests(200, after=lossy_at)
        bed.net.clear_loss("app1")
    first, last = load.window()
    # nginx passes on a request app1 never answered, but not a response app1 had begun: its headers are on their
    # way to the reader, and a cut before the body arrives leaves it truncated after the read timeout. Only a
    # request in flight at the cut may fail so (at most one per client thread); any other failure is a defect.
    at_the_cut = [o for o in load.failures() if o.started <= cut_at <= o.ended and "IncompleteRead" in o.error]
    print(f"\nlink cut, then {how}: {load.summary()}; {len(at_the_cut)} responses app1 had begun when its link was "
          f"cut arrived truncated; /health/ready 503 in {took:.2f} s, a page on the dead link 503 in "
          f"{page_took:.2f} s, ready again {back:.2f} s after the link returned")  # fmt: skip
    assert first < cut_at < lossy_at < last
    assert [o for o in load.failures() if o not in at_the_cut] == []
    assert len(at_the_cut) <= THREADS
