"""The cron endpoint: who may call it, and that due work runs exactly once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from apps.core.models import ScheduledRun
from apps.core.scheduling import due
from apps.core.scheduling.schedule import scheduled_jobs
from tests.vercel import tasks

SCHEDULED = ["clearsessions", "prune_task_results", "render_essays"]  # settings.SCHEDULED_JOBS, in order
SECRET = "cron-secret-" + "h7Kd9Qw2Lm5Zx8Vb" * 2
DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


@pytest.fixture
def cron_settings(settings):
    settings.CRON_SECRET = SECRET
    settings.TASKS = DATABASE_TASKS
    settings.TASKS_CRON_BUDGET = 20
    tasks.runs.clear()
    return settings


def call(client: Client, authorization: str | None = None):
    headers = {} if authorization is None else {"Authorization": authorization}
    return client.get("/cron/", headers=headers)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer wrong-token", SECRET, f"Token {SECRET}", f"bearer {SECRET}", f"Bearer {SECRET}x", "Bearer "],
    ids=["no-header", "empty", "wrong-token", "no-bearer-prefix", "other-scheme", "lowercase", "longer", "no-token"],
)
def test_cron_answers_401_and_runs_nothing_without_the_exact_bearer_token(client, cron_settings, authorization):
    tasks.record.enqueue("should-not-run")
    response = call(client, authorization)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert tasks.runs == {}
    assert not ScheduledRun.objects.exists()


@pytest.mark.django_db
def test_cron_refuses_to_run_when_cron_secret_is_unset(client, cron_settings, caplog):
    cron_settings.CRON_SECRET = ""
    tasks.record.enqueue("should-not-run")
    response = call(client, "Bearer ")
    assert response.status_code == 503
    assert tasks.runs == {}
    assert "CRON_SECRET is not set" in caplog.text


@pytest.mark.django_db
def test_cron_with_the_right_token_runs_due_tasks_and_each_scheduled_job_once(client, cron_settings):
    expired = SessionStore()
    expired.set_expiry(timezone.now() - timedelta(days=1))
    expired.save()
    tasks.record.enqueue("a")
    tasks.record.enqueue("b")
    tasks.explode.enqueue()

    first = call(client, f"Bearer {SECRET}")
    assert first.status_code == 200
    assert first.json() == {"enqueued": SCHEDULED, "ran": 6, "failed": 1, "more": False}
    assert tasks.runs == {"a": 1, "b": 1}
    assert not Session.objects.filter(session_key=expired.session_key).exists()
    assert DBTaskResult.objects.successful().count() == 5

    second = call(client, f"Bearer {SECRET}")
    assert second.json() == {"enqueued": [], "ran": 0, "failed": 0, "more": False}
    assert tasks.runs == {"a": 1, "b": 1}


@pytest.mark.django_db
def test_cron_leaves_the_rest_of_the_queue_for_the_next_call_when_the_budget_is_spent(client, cron_settings):
    cron_settings.TASKS_CRON_BUDGET = 1e-9
    tasks.record.enqueue("later")
    response = call(client, f"Bearer {SECRET}")
    assert response.json()["ran"] == 0
    assert response.json()["more"] is True
    assert DBTaskResult.objects.ready().count() >= 1


@pytest.mark.django_db
def test_cron_only_answers_get(client, cron_settings):
    assert client.post("/cron/", headers={"Authorization": f"Bearer {SECRET}"}).status_code == 405


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_cron_calls_never_run_the_same_task_twice(cron_settings):
    labels = [f"task-{number}" for number in range(24)]
    for label in labels:
        tasks.record.enqueue(label, pause=0.02)
    answers: list[dict] = []
    barrier = threading.Barrier(3)

    def cron_call() -> None:
        barrier.wait()
        try:
            answers.append(call(Client(), f"Bearer {SECRET}").json())
        finally:
            connection.close()  # each thread has its own connection; leave none behind for the flush

    threads = [threading.Thread(target=cron_call) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(answers) == 3
    assert tasks.runs == dict.fromkeys(labels, 1)
    assert sum(answer["ran"] for answer in answers) == len(labels) + len(SCHEDULED)
    assert sorted(name for answer in answers for name in answer["enqueued"]) == SCHEDULED
    assert ScheduledRun.objects.count() == len(SCHEDULED)


@pytest.mark.django_db
def test_two_calls_in_one_slot_run_each_scheduled_job_once_and_the_next_slot_runs_it_again(
    client, cron_settings, monkeypatch
):
    # Vercel may deliver a schedule twice, and a `crons` entry left next to `schedules` calls the route twice per
    # slot: either way the daily job must run once. The clock is moved to the first and last second of one slot.
    job = next(job for job in scheduled_jobs() if job.name == "clearsessions")
    slot_start = timezone.make_aware(datetime(2026, 3, 1, 0, 0, 0), UTC)
    assert job.slot(slot_start) != job.slot(slot_start - timedelta(seconds=1)), "slot_start must open a slot"

    def cron_call_at(moment: datetime) -> dict:
        monkeypatch.setattr(due, "timezone", SimpleNamespace(now=lambda: moment))
        return call(client, f"Bearer {SECRET}").json()

    def clearsessions_runs() -> int:
        return DBTaskResult.objects.successful().filter(task_path=job.task.module_path).count()

    first = cron_call_at(slot_start + timedelta(seconds=1))
    second = cron_call_at(slot_start + job.every - timedelta(seconds=1))
    assert first["enqueued"] == SCHEDULED
    assert second["enqueued"] == ["render_essays"]  # only the hourly job: 23 of its slots have passed since
    assert clearsessions_runs() == 1
    assert ScheduledRun.objects.filter(job="clearsessions").count() == 1

    next_slot = cron_call_at(slot_start + job.every)
    assert next_slot["enqueued"] == SCHEDULED
    assert clearsessions_runs() == 2
