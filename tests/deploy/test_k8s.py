"""deploy/k8s: every overlay rendered by `kubectl kustomize`, validated against the Kubernetes
schemas (kubernetes-validate, offline), scanned by checkov, and checked for what the manifests
promise: probes, security contexts, resources, an autoscaler and a disruption budget per
Deployment, and no secret value anywhere but in the generated Secret."""

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml

from deploy.processes import ProcessServer, free_port

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = sorted(path.name for path in (K8S / "overlays").iterdir() if path.is_dir())
CHECKOV = Path(os.environ.get("CHECKOV", ROOT / ".venv-checkov" / "bin" / "checkov"))
KUBERNETES_VALIDATE = Path(sys.executable).parent / "kubernetes-validate"
APP_DEPLOYMENTS = ("educa-web", "educa-daphne")
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Job", "CronJob")
# Settings that carry a credential: they belong in the Secret and nowhere else.
SECRET_SETTINGS = {
    "DJANGO_SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "CHAT_REDIS_URL",
    "EMAIL_URL",
    "EMAIL_HOST_PASSWORD",
    "POSTGRES_PASSWORD",
    "REDIS_PASSWORD",
}


def _render(overlay: str, directory: Path) -> Path:
    """The overlay as the operator renders it, with the example configuration as theirs."""
    tree = directory / "k8s"
    if not tree.exists():
        shutil.copytree(K8S, tree)
        for example in tree.rglob("*.env.example"):
            shutil.copy(example, example.with_suffix(""))
    result = subprocess.run(
        ["kubectl", "kustomize", str(tree / "overlays" / overlay)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    output = directory / "rendered" / f"{overlay}.yaml"
    output.parent.mkdir(exist_ok=True)
    output.write_text(result.stdout)
    return output


@pytest.fixture(scope="module")
def rendered_overlays(tmp_path_factory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("k8s")
    return {overlay: _render(overlay, directory) for overlay in OVERLAYS}


@pytest.fixture(scope="module", params=OVERLAYS)
def rendered(request, rendered_overlays) -> Path:
    return rendered_overlays[request.param]


@pytest.fixture(scope="module")
def checkov_failures(rendered_overlays) -> dict[str, set[str]]:
    """The ids of the checks checkov fails, per overlay; one run scans every overlay."""
    assert CHECKOV.exists(), f"{CHECKOV} is missing: `make test` installs it (.venv-checkov)"
    directory = next(iter(rendered_overlays.values())).parent
    result = subprocess.run(
        [str(CHECKOV), "--directory", str(directory), "--framework", "kubernetes"]
        + ["--output", "json", "--quiet", "--compact", "--skip-download"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode in (0, 1), result.stdout[-2000:] + result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert report["summary"]["passed"] > 0
    failures = {overlay: set() for overlay in rendered_overlays}
    for check in report["results"]["failed_checks"]:
        failures[Path(check["file_path"]).stem].add(check["check_id"])
    return failures


@pytest.fixture(scope="module")
def objects(rendered) -> list[dict]:
    return [document for document in yaml.safe_load_all(rendered.read_text()) if document]


def of_kind(objects: list[dict], kind: str) -> dict[str, dict]:
    return {item["metadata"]["name"]: item for item in objects if item["kind"] == kind}


def pod_spec(workload: dict) -> dict:
    if workload["kind"] == "CronJob":
        return workload["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return workload["spec"]["template"]["spec"]


def workloads(objects: list[dict]) -> list[dict]:
    return [item for item in objects if item["kind"] in WORKLOAD_KINDS]


def all_containers(spec: dict) -> list[dict]:
    return spec.get("initContainers", []) + spec["containers"]


def probe_path(probe: dict) -> str:
    """The path an exec probe hands deploy/healthcheck.py."""
    return probe["exec"]["command"][-1]


def justified_checkov_failures() -> set[str]:
    """The check ids deploy/k8s/README.md lists, with their reasons, as accepted failures."""
    readme = (K8S / "README.md").read_text()
    section = readme.split("## Checkov exceptions", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `(CKV2?_K8S_\d+)`", section, flags=re.MULTILINE))


def test_overlay_validates_against_the_kubernetes_schemas(rendered):
    result = subprocess.run(
        [str(KUBERNETES_VALIDATE), "--strict", "--quiet", str(rendered)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_overlay_passes_checkov_but_for_the_justified_checks(rendered, checkov_failures):
    failed = checkov_failures[rendered.stem]
    assert failed <= justified_checkov_failures(), failed - justified_checkov_failures()


def test_app_deployments_probe_liveness_on_healthz_and_readiness_on_readyz(objects):
    deployments = of_kind(objects, "Deployment")
    for name in APP_DEPLOYMENTS:
        container = pod_spec(deployments[name])["containers"][0]
        assert probe_path(container["livenessProbe"]) == "/healthz", name
        assert probe_path(container["startupProbe"]) == "/healthz", name
        assert probe_path(container["readinessProbe"]) == "/readyz", name


def test_every_long_running_container_has_liveness_and_readiness_probes(objects):
    for workload in workloads(objects):
        if workload["kind"] in ("Job", "CronJob"):
            continue
        for container in pod_spec(workload)["containers"]:
            assert "livenessProbe" in container, workload["metadata"]["name"]
            assert "readinessProbe" in container, workload["metadata"]["name"]


def test_every_pod_runs_as_non_root_with_a_read_only_root_filesystem(objects):
    for workload in workloads(objects):
        spec = pod_spec(workload)
        name = workload["metadata"]["name"]
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["runAsUser"] > 0, name
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
        assert spec["automountServiceAccountToken"] is False, name
        for container in all_containers(spec):
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, (name, container["name"])
            assert context["allowPrivilegeEscalation"] is False, (name, container["name"])
            assert context["capabilities"]["drop"] == ["ALL"], (name, container["name"])


def test_every_container_requests_and_limits_cpu_and_memory(objects):
    for workload in workloads(objects):
        for container in all_containers(pod_spec(workload)):
            resources = container["resources"]
            for bound in ("requests", "limits"):
                assert set(resources[bound]) == {"cpu", "memory"}, (
                    workload["metadata"]["name"],
                    container["name"],
                    bound,
                )


def test_every_deployment_has_an_autoscaler_and_a_disruption_budget(objects):
    autoscalers = of_kind(objects, "HorizontalPodAutoscaler")
    budgets = of_kind(objects, "PodDisruptionBudget")
    for name, deployment in of_kind(objects, "Deployment").items():
        target = autoscalers[name]["spec"]["scaleTargetRef"]
        assert (target["kind"], target["name"]) == ("Deployment", name)
        assert autoscalers[name]["spec"]["minReplicas"] >= 2
        # A replica count in the Deployment would undo the autoscaler's on every apply.
        assert "replicas" not in deployment["spec"], name
        selected = budgets[name]["spec"]["selector"]["matchLabels"]
        assert selected.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()


def test_every_deployment_prefers_its_pods_on_different_nodes(objects):
    for name, deployment in of_kind(objects, "Deployment").items():
        rules = pod_spec(deployment)["affinity"]["podAntiAffinity"]
        term = rules["preferredDuringSchedulingIgnoredDuringExecution"][0]["podAffinityTerm"]
        assert term["topologyKey"] == "kubernetes.io/hostname"
        assert term["labelSelector"]["matchLabels"] == {"app.kubernetes.io/name": name}


def test_app_deployments_wait_for_the_migrations_before_starting(objects):
    deployments = of_kind(objects, "Deployment")
    for name in APP_DEPLOYMENTS:
        (init,) = pod_spec(deployments[name])["initContainers"]
        assert "manage.py migrate --check" in init["command"][-1], name
        assert init["image"] == pod_spec(deployments[name])["containers"][0]["image"]


def test_migrate_job_migrates_then_collects_static_files_with_the_app_image(objects):
    job = of_kind(objects, "Job")["educa-migrate"]
    (container,) = pod_spec(job)["containers"]
    command = container["command"][-1]
    assert command.index("migrate --no-input") < command.index("collectstatic --no-input")
    web = pod_spec(of_kind(objects, "Deployment")["educa-web"])["containers"][0]
    assert container["image"] == web["image"]
    assert job["metadata"]["labels"]["educa/apply"] == "first"


def test_enrollment_reminders_run_as_a_daily_cronjob(objects):
    cronjob = of_kind(objects, "CronJob")["educa-enroll-reminder"]
    (container,) = pod_spec(cronjob)["containers"]
    assert container["command"][:3] == ["python", "manage.py", "enroll_reminder"]
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"


def test_mention_e_mails_run_as_a_cronjob_every_minute(objects):
    cronjob = of_kind(objects, "CronJob")["educa-send-mention-emails"]
    (container,) = pod_spec(cronjob)["containers"]
    assert container["command"] == ["python", "manage.py", "send_mention_emails"]
    assert cronjob["spec"]["schedule"] == "* * * * *"


def test_chat_attachments_are_pruned_daily_on_the_media_volume(objects):
    cronjob = of_kind(objects, "CronJob")["educa-chat-attachments-prune"]
    spec = pod_spec(cronjob)
    (container,) = spec["containers"]
    assert container["command"] == ["python", "manage.py", "chat_attachments_prune"]
    assert {"name": "media", "mountPath": "/srv/educa/media"} in container["volumeMounts"]
    (media,) = [volume for volume in spec["volumes"] if volume["name"] == "media"]
    assert media["persistentVolumeClaim"]["claimName"] == "educa-media"
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"


def test_configuration_comes_from_one_generated_configmap_and_one_secret(objects):
    (config,) = of_kind(objects, "ConfigMap")
    (secret,) = of_kind(objects, "Secret")
    assert config.startswith("educa-config-") and secret.startswith("educa-secret-")
    for name in APP_DEPLOYMENTS:
        sources = pod_spec(of_kind(objects, "Deployment")[name])["containers"][0]["envFrom"]
        assert sources == [
            {"configMapRef": {"name": config}},
            {"secretRef": {"name": secret}},
        ]


def test_secret_settings_come_from_the_secret_only(objects):
    for config in of_kind(objects, "ConfigMap").values():
        assert not SECRET_SETTINGS & set(config["data"]), config["metadata"]["name"]
    for workload in workloads(objects):
        for container in all_containers(pod_spec(workload)):
            for variable in container.get("env", []):
                if variable["name"] in SECRET_SETTINGS:
                    assert "secretKeyRef" in variable["valueFrom"], variable["name"]


def test_no_secret_value_appears_outside_the_secret(objects):
    (secret,) = of_kind(objects, "Secret").values()
    values = [base64.b64decode(value).decode() for value in secret["data"].values()]
    elsewhere = yaml.safe_dump_all([item for item in objects if item["kind"] != "Secret"])
    for value in values:
        assert value not in elsewhere


def test_the_example_secrets_hold_placeholders_only():
    for example in K8S.rglob("secret.env.example"):
        for line in example.read_text().splitlines():
            if line and not line.startswith("#"):
                assert "replace-with" in line, (example, line)


def test_the_operators_configuration_files_are_never_committed():
    for overlay in OVERLAYS:
        for name in ("config.env", "secret.env"):
            path = K8S / "overlays" / overlay / name
            ignored = subprocess.run(
                ["git", "check-ignore", "--quiet", str(path)], cwd=ROOT, check=False
            )
            assert ignored.returncode == 0, f"{path} is not ignored by git"


def test_production_reaches_its_backing_services_by_url_only(tmp_path):
    objects = list(yaml.safe_load_all(_render("production", tmp_path).read_text()))
    assert of_kind(objects, "StatefulSet") == {}
    (secret,) = of_kind(objects, "Secret").values()
    assert {"DATABASE_URL", "REDIS_URL"} <= set(secret["data"])


def test_trial_runs_postgres_redis_and_memcached_in_the_cluster(tmp_path):
    objects = list(yaml.safe_load_all(_render("trial", tmp_path).read_text()))
    assert set(of_kind(objects, "StatefulSet")) == {
        "educa-postgres",
        "educa-redis",
        "educa-memcached",
    }
    assert {"educa-postgres", "educa-redis", "educa-memcached"} <= set(of_kind(objects, "Service"))


def test_ingress_overlay_replaces_nginx_with_websocket_timeouts_and_the_upload_cap(tmp_path):
    objects = list(yaml.safe_load_all(_render("production-ingress", tmp_path).read_text()))
    assert "educa-nginx" not in of_kind(objects, "Deployment")
    (ingress,) = of_kind(objects, "Ingress").values()
    annotations = ingress["metadata"]["annotations"]
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) > 20
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-send-timeout"]) > 20
    # UPLOAD_MAX_BYTES (20 MiB) + 1 MiB of multipart overhead, as Educa's Nginx allows.
    assert annotations["nginx.ingress.kubernetes.io/proxy-body-size"] == "21m"
    paths = {
        path["path"]: path["backend"]["service"]["name"]
        for path in ingress["spec"]["rules"][0]["http"]["paths"]
    }
    assert paths == {"/ws/": "educa-daphne", "/": "educa-web"}


class IngressUwsgi(ProcessServer):
    """deploy/uwsgi.ini with the environment the Ingress overlay gives educa-web's uWSGI."""

    def __init__(self, env: dict[str, str]):
        super().__init__("uwsgi-ingress", env)

    def command(self) -> list[str]:
        return [str(Path(sys.executable).parent / "uwsgi"), "--ini", str(ROOT / "deploy/uwsgi.ini")]


def test_uwsgi_under_the_ingress_serves_pages_and_static_files_over_http(tmp_path):
    objects = list(yaml.safe_load_all(_render("production-ingress", tmp_path).read_text()))
    web = pod_spec(of_kind(objects, "Deployment")["educa-web"])["containers"][0]
    env = {item["name"]: item["value"] for item in web["env"]}
    static_url, static_root = env["UWSGI_STATIC_MAP"].split("=")
    local_static = tmp_path / "static"
    (local_static / "css").mkdir(parents=True)
    (local_static / "css" / "site.abc123.css").write_text("body { margin: 0 }\n")
    server = IngressUwsgi(
        {
            **env,
            "UWSGI_STATIC_MAP": f"{static_url}={local_static}",
            "WEB_BIND": f"127.0.0.1:{free_port()}",
            "WEB_PROCESSES": "1",
            "DJANGO_SETTINGS_MODULE": "educa.settings.test",
        }
    )
    server.env["UWSGI_HTTP_SOCKET"] = f"127.0.0.1:{server.port}"
    server.start()
    try:
        base = f"http://127.0.0.1:{server.port}"
        page = httpx.get(f"{base}/healthz", headers={"Host": "localhost"})
        css = httpx.get(f"{base}{static_url}/css/site.abc123.css")
    finally:
        server.close()
    assert static_root == "/srv/educa/static"
    assert page.status_code == 200
    assert page.json() == {"status": "ok"}
    assert css.status_code == 200
    assert css.text == "body { margin: 0 }\n"
