"""Production settings as `manage.py check --deploy` and a fresh process see them; the log record plumbing."""

from __future__ import annotations

import json
import logging

from apps.core.http.logging import JsonFormatter, RequestContextFilter
from apps.core.http.request_id import RequestContext, accept_or_make, current
from harness.project import manage, production_env
from tests.operations.conftest import ADMIN_URL


def test_check_deploy_gives_zero_warnings_on_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env(ADMIN_URL=ADMIN_URL))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_flags_the_admin_at_its_default_path():
    result = manage("check", "--deploy", env=production_env(ADMIN_URL="admin/"))
    assert "folio.W030" in result.stderr + result.stdout


def test_check_deploy_flags_a_preload_the_list_would_refuse():
    env = production_env(ADMIN_URL=ADMIN_URL, SECURE_HSTS_PRELOAD="true", SECURE_HSTS_SECONDS="3600")
    result = manage("check", "--deploy", env=env)
    assert "folio.W031" in result.stderr + result.stdout


def test_an_unknown_log_format_stops_start_up_with_one_sentence():
    result = manage("check", env=production_env(LOG_FORMAT="xml"))
    assert result.returncode != 0
    assert "LOG_FORMAT='xml' is not a log format" in result.stderr
    assert "Traceback" not in result.stderr


def record(message: str = "hello", **extra) -> logging.LogRecord:
    item = logging.LogRecord("apps.content", logging.WARNING, __file__, 1, message, (), None)
    item.__dict__.update(extra)
    return item


def test_every_record_of_a_request_gets_its_id_and_path():
    token = current.set(RequestContext(request_id="abc-1", path="/essays/x/"))
    try:
        item = record()
        RequestContextFilter().filter(item)
    finally:
        current.reset(token)
    assert (item.request_id, item.path, item.status, item.duration) == ("abc-1", "/essays/x/", None, None)


def test_records_outside_a_request_say_so():
    item = record()
    RequestContextFilter().filter(item)
    assert item.request_id == "-"


def test_the_json_formatter_writes_one_parseable_object_per_record():
    item = record("saved %s", status=200, duration=1.5)
    item.args = ("essay",)
    RequestContextFilter().filter(item)
    line = JsonFormatter().format(item)
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["message"] == "saved essay"
    assert parsed["level"] == "WARNING"
    assert parsed["logger"] == "apps.content"
    assert {"timestamp", "request_id", "path", "status", "duration"} <= set(parsed)


def test_request_ids_are_accepted_only_when_well_formed():
    assert accept_or_make("abc.DEF_123-x") == "abc.DEF_123-x"
    assert accept_or_make("a" * 200) == "a" * 200
    for bad in ("a" * 201, "with space", "new\nline", "quote'", None, ""):
        assert accept_or_make(bad) != bad


def test_production_bounds_every_wait_a_request_or_probe_can_hit():
    """What keeps probes under 2 s and pages from hanging: each wait on a dependency has a configured limit."""
    code = (
        "from django.conf import settings; import json; db = settings.DATABASES['default']; "
        "print(json.dumps([settings.HEALTH_CHECK_TIMEOUT, db['OPTIONS'], settings.CACHES['default']['OPTIONS']]))"
    )
    env = production_env(DB_POOL="native", REDIS_URL="redis://127.0.0.1:6379/8")
    result = manage("shell", "-c", code, env=env)
    assert result.returncode == 0, result.stderr
    health_timeout, database_options, cache_options = json.loads(result.stdout.strip().splitlines()[-1])
    assert health_timeout < 2
    assert 2 <= database_options["connect_timeout"] <= 5
    assert database_options["pool"]["timeout"] <= 2
    assert cache_options["socket_connect_timeout"] < 2
    assert cache_options["socket_timeout"] < 2


def test_check_deploy_flags_a_health_deadline_probes_would_not_wait_for():
    result = manage("check", "--deploy", env=production_env(ADMIN_URL=ADMIN_URL, HEALTH_CHECK_TIMEOUT="5"))
    assert "folio.W035" in result.stderr + result.stdout
