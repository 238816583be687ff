"""apps/core/checks/ids.py is the one table of folio check ids, held against Django's check registry."""

from __future__ import annotations

import re

from django.core.checks.registry import registry

from apps.core.checks.ids import ALWAYS, CHECK_IDS, TARGETS
from apps.core.checks.rules import Rule
from harness.project import ROOT


def folio_checks() -> list:
    every = registry.registered_checks | registry.deployment_checks
    return [check for check in every if "folio" in getattr(check, "tags", ())]


def test_every_id_in_the_table_comes_from_exactly_one_registered_check():
    checks = folio_checks()
    assert all(isinstance(check, Rule) for check in checks), checks
    reported = [check.id for check in checks]
    assert len(reported) == len(set(reported)), sorted(reported)
    assert sorted(reported) == sorted(CHECK_IDS)


def test_each_check_is_tagged_and_registered_as_its_row_says():
    for check in folio_checks():
        row = CHECK_IDS[check.id]
        assert set(row.targets) <= set(TARGETS)
        assert set(check.tags) == {"folio", row.topic, *row.targets}, check
        assert (check in registry.deployment_checks) == (row.runs != ALWAYS), check


def test_no_code_builds_a_folio_check_message_by_hand():
    # A Rule stamps its own id on its messages; an Error(..., id="folio.…") anywhere else would bypass the table.
    by_hand = re.compile(r"""id\s*=\s*["']folio\.""")
    offenders = [path for path in (ROOT / "apps").rglob("*.py") if by_hand.search(path.read_text(encoding="utf-8"))]
    assert offenders == []
