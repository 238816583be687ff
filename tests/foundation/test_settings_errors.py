"""Configuration mistakes stop start-up with one sentence naming the variable, never a deep traceback."""

from __future__ import annotations

import pytest

from harness.project import STRONG_SECRET, clean_env, manage, production_env


def assert_stops_with(result, *needles: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line, got:\n{result.stderr}"
    assert lines[0].startswith("Folio cannot start:")
    for needle in needles:
        assert needle in lines[0]


@pytest.mark.parametrize("variable", ["DJANGO_SECRET_KEY", "DATABASE_URL", "ALLOWED_HOSTS"])
def test_production_settings_refuse_to_start_without_a_required_variable(variable):
    env = production_env()
    del env[variable]
    assert_stops_with(manage("check", env=env), variable, ".env.example")


@pytest.mark.parametrize(
    "secret",
    [
        "django-insecure-" + "a1b2c3d4e5" * 6,
        "change-me-to-a-real-secret-key-change-me-to-a-real-secret-key",
        "tooShort-9f8e7d",
        "a" * 64,
    ],
)
def test_production_refuses_a_short_or_known_insecure_secret_key(secret):
    result = manage("check", env=production_env(DJANGO_SECRET_KEY=secret))
    assert_stops_with(result, "DJANGO_SECRET_KEY", "secrets.token_urlsafe")


@pytest.mark.parametrize("value", ["maybe", "yes please", "2"])
def test_a_debug_value_that_is_not_a_boolean_is_an_error(value):
    assert_stops_with(manage("check", env=clean_env(DEBUG=value)), "DEBUG", repr(value))


@pytest.mark.parametrize("url", ["nonsense", "foo://user@host/db", "postgres://"])
def test_a_malformed_database_url_is_an_error(url):
    assert_stops_with(manage("check", env=clean_env(DATABASE_URL=url)), "DATABASE_URL")


def test_a_non_numeric_conn_max_age_is_an_error():
    assert_stops_with(manage("check", env=clean_env(CONN_MAX_AGE="forever")), "CONN_MAX_AGE", "'forever'")


@pytest.mark.parametrize(
    ("value", "said"),
    [("soon", "is not a number"), ("-1", "use 0 or more"), ("nan", "use 0 or more"), ("inf", "0 or more")],
)
def test_a_query_deadline_that_is_not_a_number_of_seconds_is_an_error(value, said):
    assert_stops_with(manage("check", env=clean_env(DB_QUERY_DEADLINE=value)), "DB_QUERY_DEADLINE", said)


@pytest.mark.parametrize("value", ["10.0.0.0/8,office", "127.0.0.1/40"])
def test_a_health_detail_allow_list_that_is_not_addresses_is_an_error(value):
    result = manage("check", env=clean_env(HEALTH_DETAIL_FROM=value))
    assert_stops_with(result, "HEALTH_DETAIL_FROM", "not an IP address or network")


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("TASKS_LEASE", "an hour", "is not a number"),
        ("TASKS_LEASE", "-60", "use 0 or more"),
        ("TASK_RESULT_RETENTION_DAYS", "a week", "is not a whole number"),
        ("TASK_RESULT_RETENTION_DAYS", "0", "use 1 or more"),
    ],
)
def test_a_task_lease_or_retention_that_is_not_a_duration_is_an_error(variable, value, said):
    assert_stops_with(manage("check", env=clean_env(**{variable: value})), variable, said)


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("smtp://mailer:hunter2secret@smtp.example.org:notaport", "'notaport'"),
        ("nonsense", "no scheme"),
        ("smtpz://mailer:hunter2secret@smtp.example.org:587", "smtpz:// is not a mail scheme"),
        ("smtp://", "no host"),
        ("smtp://smtp.example.org:99999", "out of range"),
        ("smtp+tls://smtp.example.org:587?timeout=soon", "?timeout=soon"),
        ("smtp+tls://smtp.example.org:587?timeout=0", "above 0"),
        ("smtp+tls://smtp.example.org:587?tiemout=5", "?tiemout= is not an option"),
    ],
)
def test_a_mail_url_folio_cannot_use_is_an_error_that_keeps_its_password(url, said):
    result = manage("check", env=clean_env(EMAIL_URL=url))
    assert_stops_with(result, "EMAIL_URL", said, ".env.example")
    assert "hunter2secret" not in result.stderr


@pytest.mark.parametrize(
    ("admins", "said"),
    [
        ("ada", "'ada' is not an e-mail address"),
        ("Ada Lovelace ada@example.org", "is not an e-mail address"),
        ("Lovelace, Ada <ada@example.org>", "'Lovelace' is not an e-mail address"),
        ("ada@example.org; grace@example.org", "cannot be read"),
    ],
)
def test_malformed_admins_is_an_error(admins, said):
    assert_stops_with(manage("check", env=clean_env(ADMINS=admins)), "ADMINS", said, ".env.example")


def test_an_error_mail_limit_that_is_not_a_number_is_an_error():
    assert_stops_with(manage("check", env=clean_env(ERROR_MAIL_LIMIT="few")), "ERROR_MAIL_LIMIT", "'few'")


def test_build_switch_serves_collectstatic_only(tmp_path):
    env = clean_env(DJANGO_SETTINGS_MODULE="config.settings.production", DJANGO_BUILD="1")
    assert_stops_with(manage("migrate", env=env), "DJANGO_BUILD", "collectstatic")

    env["STATIC_ROOT"] = str(tmp_path / "static")
    result = manage("collectstatic", "--noinput", env=env)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "static" / "staticfiles.json").exists()
    assert list((tmp_path / "static" / "css").glob("folio.*.css.gz")), "hashed, compressed stylesheet"


def test_a_strong_key_and_complete_environment_pass_the_checks():
    result = manage("check", env=production_env())
    assert result.returncode == 0, result.stderr
    assert STRONG_SECRET not in result.stdout + result.stderr
