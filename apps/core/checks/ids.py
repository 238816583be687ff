"""Every folio system check id, once: its topic, the targets it speaks about, whether only a deploy check runs it.

The level comes from the id (folio.E… an error, folio.W… a warning); the message and hint from the one function
that reports it (rules.py). tests/operations/test_check_ids.py holds this table against Django's check registry.
Retired ids are not reused: E030 (DEBUG, now Django's security.W018), E032 (empty ALLOWED_HOSTS, security.W020),
E037–E040 (the Vercel pitfalls preflight repeated: now E005, E020, E006 and W002, which know the target).
"""

from __future__ import annotations

from dataclasses import dataclass

VERCEL, VM, DOCKER = "vercel", "vm", "docker"
TARGETS = (VERCEL, VM, DOCKER)
SERVERS = (VM, DOCKER)


@dataclass(frozen=True)
class CheckId:
    # The tag `check --tag` selects by: database, deploy (what a deploy target needs) or Django's security.
    topic: str
    targets: tuple[str, ...]
    # False: every manage.py command runs it (runserver, migrate); True: only `check --deploy` and preflight.
    deploy: bool = True
    # A warning preflight reports without failing: right on some deploys (a server reached only over HTTPS).
    advisory: bool = False


CHECK_IDS: dict[str, CheckId] = {
    # DATABASE SETTINGS (database.py)
    "folio.E001": CheckId("database", TARGETS, deploy=False),
    "folio.E002": CheckId("database", TARGETS, deploy=False),
    "folio.E003": CheckId("database", TARGETS, deploy=False),
    "folio.E004": CheckId("database", TARGETS, deploy=False),
    "folio.E005": CheckId("database", TARGETS, deploy=False),
    "folio.E006": CheckId("database", (VERCEL,), deploy=False),
    "folio.E007": CheckId("database", TARGETS, deploy=False),
    "folio.W001": CheckId("database", TARGETS, deploy=False),
    "folio.W002": CheckId("database", (VERCEL,), deploy=False),
    "folio.E036": CheckId("database", TARGETS),
    # THE DATABASE ITSELF (probes.py): only when a run asks about it (preflight, `check --deploy --database default`)
    "folio.E041": CheckId("database", TARGETS),
    "folio.E042": CheckId("database", TARGETS),
    "folio.E043": CheckId("database", TARGETS),
    # SERVERLESS AND TASKS (serverless.py)
    "folio.E020": CheckId("deploy", (VERCEL,), deploy=False),
    "folio.E021": CheckId("deploy", (VERCEL,), deploy=False),
    "folio.E022": CheckId("deploy", TARGETS, deploy=False),
    "folio.E023": CheckId("security", (VERCEL,)),
    "folio.W032": CheckId("deploy", (VERCEL,), advisory=True),
    # SECURITY (security.py)
    "folio.E031": CheckId("security", TARGETS),
    "folio.E033": CheckId("security", TARGETS),
    "folio.W030": CheckId("security", TARGETS),
    "folio.W031": CheckId("security", TARGETS),
    # FILES, PROXIES, PROBES (deploy.py)
    "folio.E034": CheckId("deploy", TARGETS),
    "folio.E035": CheckId("deploy", TARGETS),
    "folio.W033": CheckId("deploy", (DOCKER,), advisory=True),
    "folio.W034": CheckId("deploy", SERVERS, advisory=True),
    "folio.W035": CheckId("deploy", TARGETS),
}
