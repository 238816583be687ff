"""The nginx site's TLS graded by a real grader: Debian's testssl.sh against the rendered site, with the test
certificate trusted. Any finding above LOW fails the test unless ACCEPTED names it with the reason."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from harness.availability import unavailable
from harness.project import ROOT
from tests.vm.conftest import DOMAIN

pytestmark = pytest.mark.services

GRAVE = {"MEDIUM", "HIGH", "CRITICAL"}
# testssl.sh finding id -> why it is not a defect of the site's TLS configuration.
# Each is a property of the throwaway certificate tests/vm/conftest.py makes, not of the site's TLS configuration;
# production's certificate comes from Let's Encrypt (README, "Deploy to a VM") and carries neither problem.
ACCEPTED: dict[str, str] = {
    "cert_expirationStatus": "the test certificate is made to live two days; certbot renews the real one at 30",
    "cert_notAfter": "the same two-day lifetime, reported as the date",
    "cert_revocation": "a self-signed test certificate names no CRL or OCSP responder; a CA-issued one does",
}
# Protocols, ciphers, forward secrecy, server defaults (certificate included) and the known vulnerabilities:
# what a grade rests on. Header checks are left to test_behind_nginx.py, which reads them over real requests.
CHECKS = ["--protocols", "--std", "--fs", "--server-defaults", "--vulnerable"]


@pytest.fixture(scope="module")
def findings(stack) -> list[dict]:
    testssl = shutil.which("testssl") or shutil.which("testssl.sh")
    if testssl is None:
        unavailable("testssl.sh is not installed (apt-get install testssl.sh)")
    # Kept after the run (test-artifacts/ is ignored by git): the whole grading, for a person to read.
    report = ROOT / "test-artifacts" / "testssl.json"
    report.parent.mkdir(exist_ok=True)
    report.unlink(missing_ok=True)
    command = [
        testssl, *CHECKS, "--quiet", "--color", "0", "--warnings", "off", "--sneaky",
        "--add-ca", str(stack.site.cert), "--ip", "127.0.0.1", "--jsonfile", str(report),
        f"{DOMAIN}:{stack.site.https_port}",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    if not report.exists():
        pytest.fail(f"testssl.sh wrote no report (exit {result.returncode}):\n{result.stdout[-3000:]}")
    return json.loads(report.read_text())


def test_testssl_finds_nothing_above_low_that_is_not_accepted_with_a_reason(findings):
    grave = [f"{item['id']} ({item['severity']}): {item['finding']}" for item in findings if item["severity"] in GRAVE]
    unexplained = [line for line in grave if line.split(" ")[0] not in ACCEPTED]
    assert unexplained == [], "\n".join(unexplained)


def test_testssl_ran_the_checks_a_grade_rests_on(findings):
    ids = {item["id"] for item in findings}
    assert {"TLS1_3", "TLS1_2", "SSLv3", "PFS", "cert_chain_of_trust", "heartbleed", "ROBOT"} <= ids, sorted(ids)
    by_id = {item["id"]: item for item in findings}
    assert by_id["cert_chain_of_trust"]["severity"] == "OK", by_id["cert_chain_of_trust"]
    assert by_id["TLS1_3"]["finding"].startswith("offered"), by_id["TLS1_3"]
