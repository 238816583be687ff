"""No cluster runs here, so the rendered manifests (and the committed example) are checked offline: the core kinds
against the Kubernetes API's own schemas with `kubernetes-validate --strict` for each supported minor version, the
Gateway API kinds against their CRDs' schemas (Gateway API v1.6.1, read from ../shared/schemas/), and the whole set
with the policy scanner checkov. What none of this can tell: admission webhooks, CEL rules on the CRDs, and
whether the cluster's Gateway implementation accepts the route (README, "Outgrowing one machine")."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from harness.availability import unavailable
from harness.project import ROOT

KUBERNETES_VERSIONS = ("1.35.0", "1.36.0", "1.37.0")
GATEWAY_API = ROOT.parent / "shared" / "schemas" / "gateway-api-v1.6.1"
GATEWAY_KINDS = {
    "Gateway": "gateway.networking.k8s.io_gateways.yaml",
    "HTTPRoute": "gateway.networking.k8s.io_httproutes.yaml",
}
KUBERNETES_VALIDATE = Path(sys.executable).parent / "kubernetes-validate"
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
EXAMPLE = ROOT / "deploy" / "kubernetes" / "example"
# checkov's rules skipped for every object, each with its reason. Rules skipped for one object are annotated on it
# (checkov.io/skipN, with the reason) and listed in ANNOTATED_SKIPS.
CHECKOV_SKIPS = {
    # Folio's settings read the environment (django-environ, twelve-factor); secretKeyRef keeps the values out of
    # the manifests and the image. Files would need a second way to read every setting.
    "CKV_K8S_35": "secrets as environment variables: the settings read the environment",
}
ANNOTATED_SKIPS = {"CKV_K8S_8", "CKV_K8S_9"}  # the worker's liveness and readiness probes: it serves no port


def manifest_files(directory: Path) -> list[Path]:
    return sorted(path for path in directory.rglob("*.yaml") if path.parent.name != "gateway-api")


@pytest.fixture(params=["rendered", "example"])
def manifests(request, rendered) -> Path:
    return rendered if request.param == "rendered" else EXAMPLE


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_the_core_kinds_are_valid_for_each_supported_kubernetes(manifests, version):
    files = manifest_files(manifests)
    result = subprocess.run(
        [str(KUBERNETES_VALIDATE), "--strict", "--kubernetes-version", version, *map(str, files)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("passed for resource") == len(files), result.stdout


def strict(schema: dict) -> dict:
    """As `kubernetes-validate --strict` does for the core kinds: an object with declared properties has no others."""
    if isinstance(schema, dict):
        schema = {key: strict(value) for key, value in schema.items()}
        if schema.get("type") == "object" and "properties" in schema:
            schema.setdefault("additionalProperties", False)
    elif isinstance(schema, list):
        schema = [strict(value) for value in schema]
    return schema


def crd_schema(kind: str) -> dict:
    path = GATEWAY_API / GATEWAY_KINDS[kind]
    if not path.exists():
        unavailable(f"no Gateway API CRD at {path} (the shared folder beside the clone)")
    crd = yaml.safe_load(path.read_text(encoding="utf-8"))
    version = next(version for version in crd["spec"]["versions"] if version["name"] == "v1")
    return strict(version["schema"]["openAPIV3Schema"])


def test_the_gateway_api_kinds_are_valid_against_their_crds(manifests):
    checked = 0
    for path in sorted((manifests / "gateway-api").glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            assert document["apiVersion"] == "gateway.networking.k8s.io/v1"
            jsonschema.validate(document, crd_schema(document["kind"]))
            checked += 1
    assert checked == 3  # the Gateway, the route to the Service, the redirect to HTTPS


def test_the_strict_crd_check_refuses_a_misspelled_field():
    route = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "x"},
             "spec": {"parentRefs": [{"name": "folio"}], "hostname": ["folio.example.org"]}}  # fmt: skip
    with pytest.raises(jsonschema.ValidationError, match="hostname"):
        jsonschema.validate(route, crd_schema("HTTPRoute"))


def test_checkov_finds_nothing_beyond_the_listed_skips(manifests):
    if not CHECKOV.exists():
        unavailable(f"checkov is not installed at {CHECKOV} (make kubernetes-tools)")
    result = subprocess.run(
        [str(CHECKOV), "--directory", str(manifests), "--framework", "kubernetes", "--skip-download",
         "--skip-check", ",".join(CHECKOV_SKIPS), "--output", "json"],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    report = json.loads(result.stdout)
    report = report[0] if isinstance(report, list) else report
    failed = [(check["check_id"], check["resource"]) for check in report["results"]["failed_checks"]]
    assert failed == [], failed
    assert report["summary"]["passed"] > 200
    assert {check["check_id"] for check in report["results"]["skipped_checks"]} == ANNOTATED_SKIPS
