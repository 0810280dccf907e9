"""deploy/kubernetes: every manifest validated by kubernetes-validate (strict: unknown fields
fail) against a pinned Kubernetes version, the ConfigMap's config.yaml validated by ACMEEH's own
loader, and the wiring between the objects (probes, ports, secrets, grace period, security)."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from acmeeh.config import settings_from_dict

from .containerkit import ROOT

KUBERNETES_VERSION = "1.33.0"
MANIFESTS_DIR = ROOT / "deploy" / "kubernetes"
MANIFESTS = sorted(p for p in MANIFESTS_DIR.glob("*.yaml") if p.name != "kustomization.yaml")


def validate(paths: list[Path]) -> subprocess.CompletedProcess[str]:
    tool = Path(sys.executable).parent / "kubernetes-validate"
    if not tool.exists():
        pytest.fail("kubernetes-validate is missing: pip install -e '.[test]' installs it")
    return subprocess.run([str(tool), "-k", KUBERNETES_VERSION, "--strict", *map(str, paths)],
                          capture_output=True, text=True, timeout=120, check=False)


def manifest(name: str) -> dict[str, Any]:
    return yaml.safe_load((MANIFESTS_DIR / name).read_text())


def pod_spec(name: str) -> dict[str, Any]:
    return manifest(name)["spec"]["template"]["spec"]


def app_config() -> Any:
    text = manifest("configmap.yaml")["data"]["config.yaml"]
    names = set(re.findall(r"\$\{(\w+)\}", text))
    return names, settings_from_dict(yaml.safe_load(text), environ={n: "x" * 40 for n in names})


def test_every_manifest_is_valid_for_the_pinned_version() -> None:
    done = validate(MANIFESTS)
    assert done.returncode == 0, done.stdout + done.stderr
    for path in MANIFESTS:
        assert f"{path.relative_to(ROOT)} passed" in done.stdout + done.stderr or \
            f"{path} passed" in done.stdout + done.stderr, path


def test_the_validator_rejects_an_unknown_field(tmp_path: Path) -> None:
    broken = manifest("deployment.yaml")
    broken["spec"]["template"]["spec"]["containers"][0]["livenessProbes"] = {}
    path = tmp_path / "deployment.yaml"
    path.write_text(yaml.safe_dump(broken))
    assert validate([path]).returncode != 0


def test_kustomization_lists_every_manifest() -> None:
    listed = manifest("kustomization.yaml")["resources"]
    assert sorted(listed) == sorted(p.name for p in MANIFESTS)


def test_configmap_holds_a_valid_configuration_for_a_read_only_pod() -> None:
    names, settings = app_config()
    assert names == {"ACMEEH_DB_PASSWORD", "ACMEEH_METRICS_TOKEN"}
    assert settings.ocsp.responder_dir is None  # nothing to write: readOnlyRootFilesystem
    assert settings.proxy.enabled and not settings.database.auto_setup
    for workload in ("deployment.yaml", "migrate-job.yaml"):
        env = {e["name"] for c in pod_spec(workload)["containers"] for e in c["env"]}
        assert names <= env, workload
    secret = manifest("secret-database.yaml")["stringData"]
    for workload in ("deployment.yaml", "migrate-job.yaml"):
        for container in pod_spec(workload)["containers"]:
            for e in container["env"]:
                ref = e.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["name"] == "acmeeh-database" and ref["key"] in secret


def test_deployment_probes_resources_and_security() -> None:
    spec = pod_spec("deployment.yaml")
    (app,) = spec["containers"]
    assert app["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert app["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert app["startupProbe"]["httpGet"]["path"] == "/livez"
    assert app["resources"]["requests"] and app["resources"]["limits"]["memory"]
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] == 1000
    for container in spec["containers"] + spec["initContainers"]:
        context = container["securityContext"]
        assert context["readOnlyRootFilesystem"] is True
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"]["drop"] == ["ALL"]
    _, settings = app_config()
    assert spec["terminationGracePeriodSeconds"] > settings.server.graceful_timeout
    assert app["ports"][0]["containerPort"] == settings.server.port
    service = manifest("service.yaml")["spec"]
    assert service["type"] == "ClusterIP" and service["ports"][0]["targetPort"] == "http"
    mounts = {m["mountPath"]: m for m in app["volumeMounts"]}
    assert mounts["/etc/acmeeh/ca"]["readOnly"] is True and "/tmp" in mounts
    assert settings.ca.key.startswith("/etc/acmeeh/ca/")
    # The CA key reaches the server as a 0400 file of uid 1000 (ACMEEH refuses looser modes).
    (init,) = spec["initContainers"]
    assert "install -m 0400 /secret/ca/ca-key.pem /etc/acmeeh/ca/ca-key.pem" in " ".join(init["args"])
    secret_volume = next(v for v in spec["volumes"] if v["name"] == "ca-secret")["secret"]
    assert secret_volume["secretName"] == "acmeeh-ca" and secret_volume["defaultMode"] == 0o440
    assert set(manifest("secret-ca.yaml")["stringData"]) == {"ca.pem", "ca-key.pem"}


def test_migration_job_pdb_and_network_policy() -> None:
    job = pod_spec("migrate-job.yaml")
    assert job["containers"][0]["args"] == ["migrate"] and job["restartPolicy"] == "OnFailure"
    selector = manifest("deployment.yaml")["spec"]["selector"]["matchLabels"]
    assert manifest("poddisruptionbudget.yaml")["spec"]["selector"]["matchLabels"] == selector
    assert manifest("poddisruptionbudget.yaml")["spec"]["minAvailable"] == 1
    policy = manifest("networkpolicy.yaml")["spec"]
    assert policy["podSelector"]["matchLabels"] == selector
    assert set(policy["policyTypes"]) == {"Ingress", "Egress"}
    assert [p["port"] for p in policy["ingress"][0]["ports"]] == [8000]
