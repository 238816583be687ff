"""What each target makes of the environment, read in a fresh process as the server would."""

from __future__ import annotations

import json

from harness.project import clean_env, manage, production_env, run_python

PRINT_DATABASE = (
    "from django.conf import settings; import json; "
    "print(json.dumps({k: settings.DATABASES['default'][k] for k in ('ENGINE', 'NAME', 'CONN_MAX_AGE', 'OPTIONS')}))"
)


def settings_of(env: dict[str, str], code: str = PRINT_DATABASE) -> dict:
    result = manage("shell", "-c", code, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_development_defaults_to_sqlite():
    database = settings_of(clean_env())
    assert database["ENGINE"] == "django.db.backends.sqlite3"


def test_sslmode_in_the_database_url_passes_through_to_psycopg():
    env = production_env(DATABASE_URL="postgres://u:p@db.example.org:5432/folio?sslmode=require")
    database = settings_of(env)
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert database["OPTIONS"]["sslmode"] == "require"


def test_vercel_settings_never_keep_connections():
    database = settings_of(
        production_env(
            DJANGO_SETTINGS_MODULE="config.settings.vercel", CONN_MAX_AGE="600", AWS_STORAGE_BUCKET_NAME="folio-media"
        )
    )
    assert database["CONN_MAX_AGE"] == 0


def wsgi_says(env: dict[str, str], expression: str):
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = run_python(f"import json, os, config.wsgi as wsgi; print(json.dumps({expression}))", env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_wsgi_picks_vercel_settings_when_vercel_sets_its_variable():
    chosen = "os.environ['DJANGO_SETTINGS_MODULE']"
    # Vercel requires a media bucket (its disk is throwaway); any name will do, nothing is contacted.
    assert (
        wsgi_says(production_env(VERCEL="1", AWS_STORAGE_BUCKET_NAME="folio-media"), chosen) == "config.settings.vercel"
    )
    assert wsgi_says(production_env(), chosen) == "config.settings.production"


def test_wsgi_exports_app_for_vercel_and_application_for_gunicorn():
    assert wsgi_says(production_env(), "wsgi.app is wsgi.application and callable(wsgi.app)") is True


def test_admins_and_email_come_from_the_environment():
    code = (
        "from django.conf import settings; import json; "
        "print(json.dumps([settings.ADMINS, settings.EMAIL_BACKEND, settings.EMAIL_HOST, settings.SERVER_EMAIL]))"
    )
    env = clean_env(
        ADMINS="Ada Lovelace <ada@example.org>, grace@example.org",
        EMAIL_URL="smtp+tls://mailer:pw@smtp.example.org:587",
        SERVER_EMAIL="errors@example.org",
    )
    admins, backend, host, server_email = settings_of(env, code)
    assert admins == [["Ada Lovelace", "ada@example.org"], ["", "grace@example.org"]]
    assert backend == "django.core.mail.backends.smtp.EmailBackend"
    assert host == "smtp.example.org"
    assert server_email == "errors@example.org"


PRINT_MAIL = (
    "from django.conf import settings; import json; "
    "print(json.dumps([settings.EMAIL_TIMEOUT, settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS]))"
)


def test_mail_waits_five_seconds_per_smtp_step_unless_the_url_says_otherwise():
    # Django's own default is no timeout: a server that accepts and never answers would hold an error page forever.
    assert settings_of(clean_env(EMAIL_URL="smtp+tls://smtp.example.org:587"), PRINT_MAIL) == [
        5.0,
        "smtp.example.org",
        587,
        True,
    ]
    assert settings_of(clean_env(EMAIL_URL="smtp://smtp.example.org?timeout=1.5"), PRINT_MAIL) == [
        1.5,
        "smtp.example.org",
        25,
        False,
    ]
