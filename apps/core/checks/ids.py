"""Every folio system check id, once: its topic, the targets it speaks about, and which runs report it.

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
# Which runs report a rule: every manage.py command (runserver, migrate); `check --deploy` and preflight; or only a
# run that names its target (preflight): what the machine holds (collected files, volumes, the database itself)
# and what only that target makes wrong. `check --deploy` on a laptop with production settings knows neither.
ALWAYS, DEPLOY, PREFLIGHT = "always", "deploy", "preflight"


@dataclass(frozen=True)
class CheckId:
    # The tag `check --tag` selects by: database, deploy (what a deploy target needs) or Django's security.
    topic: str
    targets: tuple[str, ...]
    runs: str
    # A warning preflight reports without failing: right on some deploys (a server reached only over HTTPS).
    advisory: bool = False


CHECK_IDS: dict[str, CheckId] = {
    # DATABASE SETTINGS (database.py)
    "folio.E001": CheckId("database", TARGETS, ALWAYS),
    "folio.E002": CheckId("database", TARGETS, ALWAYS),
    "folio.E003": CheckId("database", TARGETS, ALWAYS),
    "folio.E004": CheckId("database", TARGETS, ALWAYS),
    "folio.E005": CheckId("database", TARGETS, ALWAYS),
    "folio.E006": CheckId("database", (VERCEL,), ALWAYS),
    "folio.E007": CheckId("database", TARGETS, ALWAYS),
    "folio.W001": CheckId("database", TARGETS, ALWAYS),
    "folio.W002": CheckId("database", (VERCEL,), ALWAYS),
    "folio.E036": CheckId("database", TARGETS, PREFLIGHT),
    # THE DATABASE ITSELF (probes.py)
    "folio.E041": CheckId("database", TARGETS, PREFLIGHT),
    "folio.E042": CheckId("database", TARGETS, PREFLIGHT),
    "folio.E043": CheckId("database", TARGETS, PREFLIGHT),
    # SERVERLESS AND TASKS (serverless.py)
    "folio.E020": CheckId("deploy", (VERCEL,), ALWAYS),
    "folio.E021": CheckId("deploy", (VERCEL,), ALWAYS),
    "folio.E022": CheckId("deploy", TARGETS, ALWAYS),
    "folio.E023": CheckId("security", (VERCEL,), DEPLOY),
    "folio.W032": CheckId("deploy", (VERCEL,), PREFLIGHT, advisory=True),
    # SECURITY (security.py)
    "folio.E031": CheckId("security", TARGETS, PREFLIGHT),
    "folio.E033": CheckId("security", TARGETS, PREFLIGHT),
    "folio.W030": CheckId("security", TARGETS, DEPLOY),
    "folio.W031": CheckId("security", TARGETS, DEPLOY),
    # FILES, PROXIES, PROBES (deploy.py)
    "folio.E034": CheckId("deploy", TARGETS, PREFLIGHT),
    "folio.E035": CheckId("deploy", TARGETS, PREFLIGHT),
    "folio.W033": CheckId("deploy", (DOCKER,), PREFLIGHT, advisory=True),
    "folio.W034": CheckId("deploy", SERVERS, PREFLIGHT, advisory=True),
    "folio.W035": CheckId("deploy", TARGETS, DEPLOY),
    # SEVERAL APP HOSTS (hosts.py)
    "folio.E044": CheckId("deploy", SERVERS, DEPLOY),
}
