"""The version rule before a dump: majors as PostgreSQL names them (9.6, then 10, 11, …), from both sides."""

from __future__ import annotations

import pytest

from apps.core.dbops import postgres_client


@pytest.mark.parametrize(("number", "major"), [(90624, "9.6"), (100001, "10"), (150020, "15"), (170000, "17")])
def test_server_version_num_becomes_the_major_people_name(number, major):
    assert postgres_client.major_of(number) == major


@pytest.mark.parametrize(
    ("printed", "major"),
    [
        ("pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)", "15"),
        ("pg_dump (PostgreSQL) 9.6.24", "9.6"),
        ("pg_dump (PostgreSQL) 17beta1", "17"),
        ("pg_dump (PostgreSQL) 10.23", "10"),
    ],
)
def test_pg_dump_version_becomes_its_major(tmp_path, printed, major):
    program = tmp_path / "pg_dump"
    program.write_text(f"#!/bin/sh\necho '{printed}'\n")
    program.chmod(0o755)
    assert postgres_client.client_major(str(program)) == major


@pytest.mark.parametrize(("client", "server", "older"), [("9.6", "10", True), ("15", "16", True), ("16", "15", False)])
def test_majors_compare_as_numbers_not_strings(client, server, older):
    assert (postgres_client.as_tuple(client) < postgres_client.as_tuple(server)) is older
