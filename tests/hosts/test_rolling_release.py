"""A release rolled across both app hosts under a bounded read load: drain (`make drain`), replace, rejoin
(`make rejoin`), one host at a time; no reader sees a failure, and the new release answers before the load ends."""

from __future__ import annotations

import shlex
import subprocess
import time

import pytest

from harness.hosts import APP_PORT, APPS
from harness.load import ReadLoad
from harness.project import ROOT
from tests.hosts.conftest import SLUGS

pytestmark = pytest.mark.services

PATHS = ["/", *[f"/essays/{slug}/" for slug in SLUGS[:3]]]


def make(bed, target: str, host: str = "") -> None:
    site_dir = bed.nginx_conf.parent / "site"
    variables = [
        f"NGINX_SITE_ARGS={shlex.join(bed.render_site())}",
        f"NGINX_SITE_DIR={site_dir}",
        f"NGINX={shlex.join(bed.nginx_command())}",
        *([f"HOST={host}"] if host else []),
    ]
    old = bed.nginx_workers()
    result = subprocess.run(["make", "-s", target, *variables], cwd=ROOT, env=bed.lb_env(), capture_output=True,
                            text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    bed.wait_for_new_nginx_workers(old)


def test_a_release_rolls_across_both_hosts_under_load_without_a_failed_request(bed):
    with ReadLoad(bed, PATHS, threads=4, max_requests=20000, max_seconds=240) as load:
        load.wait_for_requests(20, release="app1")
        steps = {}
        for name in APPS:
            make(bed, "drain", f"{bed.address(name)}:{APP_PORT}")
            drained_at = time.monotonic()
            bed.stop_app(name)  # SIGTERM: Gunicorn finishes what it has
            bed.start_app(name, FOLIO_RELEASE=f"{name}-next")
            make(bed, "rejoin")
            steps[name] = drained_at
            print(f"\n{name} replaced in {time.monotonic() - drained_at:.1f} s ({load.count()} requests so far)")
        new_at = time.monotonic()
        load.wait_for_requests(20, release="app1-next", after=new_at)
        load.wait_for_requests(20, release="app2-next", after=new_at)
    first, last = load.window()
    print(f"\nrolling release: {load.summary()}")
    assert first < steps["app1"] < steps["app2"] < last
    assert load.failures() == []
    new = [o for o in load.outcomes if o.release.endswith("-next")]
    assert new and max(o.ended for o in new) <= last
