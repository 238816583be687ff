"""What an adopter reads before copying a file: the licence, and a changelog entry for the version they take."""

from __future__ import annotations

import re
import tomllib

from harness.project import ROOT


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def changelog_versions() -> list[str]:
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    return re.findall(r"^## \[(\d+\.\d+\.\d+)\] - (?:\d{4}-\d{2}-\d{2}|Unreleased)$", text, flags=re.MULTILINE)


def test_pyproject_version_has_a_changelog_heading():
    version = project()["version"]
    assert version in changelog_versions(), f"CHANGELOG.md has no '## [{version}] - …' heading: add one"


def test_changelog_lists_versions_newest_first_once_each():
    versions = changelog_versions()
    as_numbers = [tuple(int(part) for part in version.split(".")) for version in versions]
    assert as_numbers == sorted(set(as_numbers), reverse=True), versions


def test_the_licence_is_bsd_3_clause_and_pyproject_names_it():
    assert project()["license"] == "BSD-3-Clause"
    assert project()["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("BSD 3-Clause License")
    assert "The Folio developers" in text
