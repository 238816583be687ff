"""The manifests held to the settings and the image: probe paths and port, uid, the variables .env.example lists,
the grace period against Gunicorn's graceful timeout; no secret value in any file; bad input refused."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from gunicorn.config import GracefulTimeout

from apps.core.deploy.kubernetes import (
    FIXED_VALUES,
    NOT_FOR_A_CLUSTER,
    SECRET_VARIABLES,
    WORKER_COMMAND,
    env_example_variables,
)
from apps.core.deploy.nginx import gunicorn_values
from harness.project import ROOT, clean_env
from tests.kubernetes.conftest import IMAGE, SECRET_FRAGMENTS, SECRET_VALUES, cluster_env, render

DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")


def containers(objects) -> dict[str, dict]:
    """Each pod template's one container, by the object that owns it."""
    return {
        name: document["spec"]["template"]["spec"]["containers"][0]
        for (kind, name), document in objects.items()
        if kind in ("Deployment", "Job")
    }


def test_everything_is_rendered_into_one_namespace(objects):
    assert {kind for kind, _ in objects} == {
        "Deployment", "Service", "Job", "PodDisruptionBudget", "HorizontalPodAutoscaler", "NetworkPolicy",
        "Gateway", "HTTPRoute", "Ingress",
    }  # fmt: skip
    assert {document["metadata"]["namespace"] for document in objects.values()} == {"folio"}


def test_probes_ask_djangos_health_paths_on_the_images_port(objects):
    web = containers(objects)["folio-web"]
    port = web["ports"][0]
    assert port["containerPort"] == int(re.search(r"^EXPOSE (\d+)$", DOCKERFILE, re.M).group(1))
    assert f"GUNICORN_BIND=0.0.0.0:{port['containerPort']}" in DOCKERFILE
    assert web["livenessProbe"]["httpGet"] == {"path": reverse("core:health_live"), "port": port["name"]}
    assert web["startupProbe"]["httpGet"] == {"path": reverse("core:health_live"), "port": port["name"]}
    assert web["readinessProbe"]["httpGet"] == {"path": reverse("core:health_ready"), "port": port["name"]}
    # The probe outwaits the checks' own deadline (HEALTH_CHECK_TIMEOUT, 1.5 s by default).
    assert web["readinessProbe"]["timeoutSeconds"] >= 2
    service = objects[("Service", "folio-web")]
    assert service["spec"]["ports"][0]["targetPort"] == port["name"]


def test_every_pod_runs_as_the_images_user_unprivileged_and_read_only(objects):
    uid = int(re.search(r"^USER (\d+):", DOCKERFILE, re.M).group(1))
    for (kind, name), document in objects.items():
        if kind not in ("Deployment", "Job"):
            continue
        pod = document["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] == uid, name
        security = pod["containers"][0]["securityContext"]
        assert security["readOnlyRootFilesystem"] is True, name
        assert security["allowPrivilegeEscalation"] is False, name
        assert security["capabilities"]["drop"] == ["ALL"], name
        assert {mount["mountPath"] for mount in pod["containers"][0]["volumeMounts"]} == {"/tmp"}, name
        assert pod["containers"][0]["image"] == IMAGE, name


def test_the_pods_get_every_variable_env_example_lists_by_reference(objects):
    documented = env_example_variables()
    assert set(NOT_FOR_A_CLUSTER) <= set(documented), "NOT_FOR_A_CLUSTER names a variable .env.example lacks"
    expected = set(documented) - set(NOT_FOR_A_CLUSTER)
    for name, container in containers(objects).items():
        env = {entry["name"]: entry for entry in container["env"]}
        assert set(env) == expected, name
        for variable, entry in env.items():
            if variable in FIXED_VALUES:
                assert entry["value"] == FIXED_VALUES[variable]
                continue
            source = entry["valueFrom"]
            if variable in SECRET_VARIABLES:
                assert source["secretKeyRef"]["name"] == "folio-secrets" and source["secretKeyRef"]["key"] == variable
            else:
                assert source["configMapKeyRef"]["name"] == "folio-config", variable
                assert source["configMapKeyRef"]["key"] == variable
        required = {
            variable
            for variable, entry in env.items()
            if not entry.get("valueFrom", {}).get(
                "secretKeyRef", entry.get("valueFrom", {}).get("configMapKeyRef", {"optional": True})
            )["optional"]
        }
        assert {"DJANGO_SECRET_KEY", "DATABASE_URL", "ALLOWED_HOSTS", "AWS_STORAGE_BUCKET_NAME"} <= required


def test_no_secret_value_appears_in_any_rendered_file(rendered):
    text = "\n".join(path.read_text(encoding="utf-8") for path in rendered.rglob("*.yaml"))
    for variable, value in SECRET_VALUES.items():
        assert value not in text, variable
    for fragment in SECRET_FRAGMENTS:
        assert fragment not in text


def test_a_secret_value_in_the_output_would_be_caught(tmp_path):
    # Control for the test above: a value that does reach the output (the image reference) is found by it.
    result = render(tmp_path / "out", "--image", "registry.example.org/folio:db-pa55-word-9f3")
    assert result.returncode == 0, result.stderr
    text = "\n".join(path.read_text(encoding="utf-8") for path in (tmp_path / "out").rglob("*.yaml"))
    assert SECRET_FRAGMENTS[0] in text


def test_the_grace_period_outlasts_the_pre_stop_sleep_and_gunicorns_graceful_timeout(objects):
    graceful = gunicorn_values().get("graceful_timeout", GracefulTimeout.default)
    pod = objects[("Deployment", "folio-web")]["spec"]["template"]["spec"]
    pre_stop = pod["containers"][0]["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert pre_stop > 0
    assert pod["terminationGracePeriodSeconds"] > pre_stop + graceful


def test_rollouts_keep_capacity_and_disruptions_keep_a_pod(objects):
    web = objects[("Deployment", "folio-web")]["spec"]
    assert web["replicas"] >= 2
    assert web["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert objects[("PodDisruptionBudget", "folio-web")]["spec"]["minAvailable"] == 1
    assert objects[("HorizontalPodAutoscaler", "folio-web")]["spec"]["minReplicas"] == web["replicas"]


def test_the_worker_runs_what_the_systemd_unit_runs(objects):
    unit = (ROOT / "deploy/systemd/example/folio-worker.service").read_text(encoding="utf-8")
    exec_start = re.search(r"^ExecStart=\S+/bin/(python .*)$", unit, re.M).group(1)
    assert exec_start.split() == list(WORKER_COMMAND)
    assert containers(objects)["folio-worker"]["command"] == list(WORKER_COMMAND)


def test_the_migration_job_is_named_after_the_release(tmp_path, objects):
    # The digest's first 12 characters when the image has no tag and FOLIO_RELEASE is unset.
    assert ("Job", "folio-migrate-0123456789ab") in objects
    result = render(
        tmp_path / "out",
        "--image",
        "registry.example.org/folio:1.4.0",
        env=cluster_env(FOLIO_RELEASE="2026.12.02+a1b2c3"),
    )
    assert result.returncode == 0, result.stderr
    assert "name: folio-migrate-2026-12-02-a1b2c3" in (tmp_path / "out/migrate-job.yaml").read_text()


def test_egress_is_allowed_to_the_ports_the_settings_name(objects):
    policy = objects[("NetworkPolicy", "folio")]["spec"]
    ports = {port["port"] for rule in policy["egress"] for port in rule["ports"]}
    # DNS; HTTPS (S3, Sentry); DATABASE_URL's PgBouncer, DATABASE_DIRECT_URL's PostgreSQL, REDIS_URL's, EMAIL_URL's.
    assert ports == {53, 443, 6432, 5432, 6380, 587}


@pytest.mark.parametrize(
    ("arguments", "env", "said"),
    [
        ([], {}, "--image names the image to run"),
        (["--image", IMAGE, "--domain", "not a host/name"], {}, "--domain 'not a host/name' is not a host name"),
        (["--image", IMAGE, "--domain", "127.0.0.1"], {}, "is not a host name"),
        (["--image", IMAGE, "--namespace", "Folio_Prod"], {}, "is not a namespace name"),
        (["--image", "registry.example.org/folio"], {}, "the migration Job is named after the release"),
        (["--image", IMAGE], {"DJANGO_SETTINGS_MODULE": "config.settings.development"}, "render with the production"),
    ],
    ids=["no-image", "bad-domain", "ip-domain", "bad-namespace", "no-release", "not-production"],
)
def test_bad_input_is_one_clear_line_and_nothing_is_written(tmp_path, arguments, env, said):
    base = cluster_env() if "DJANGO_SETTINGS_MODULE" not in env else clean_env(**env)
    result = render(tmp_path / "out", *arguments, env=base)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert said in lines[0]
    assert not (tmp_path / "out").exists()
