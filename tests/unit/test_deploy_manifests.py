"""The deployment for a real cluster (deploy/k8s/, deploy/compose/, deploy/docker/), checked
offline: nothing here can be applied or built on these machines (no cluster, no Docker engine).

The manifests are rendered and validated by deploy/manifests.py (the README's command), then
held against the code they deploy: the services and ports of ``make run`` (deploy/run.py), the
health routes the apps serve, the settings the processes read, the topics and consumer groups
of each service's runtime, and the network paths the design allows (only the gateway reaches a
service)."""

from __future__ import annotations

import copy
import http.server
import importlib
import json
import os
import re
import shutil
import socketserver
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]
from fastapi import FastAPI
from shared_kernel.kafka import (
    EVENT_TOPIC_CONFIG,
    dead_letter_notices_topic,
    dead_letter_topic,
    events_topic,
)
from shared_kernel.runtime import ServiceRuntime

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
sys.path.insert(0, str(DEPLOY))
run: Any = importlib.import_module("run")  # deploy/run.py: the services and ports of `make run`
manifests: Any = importlib.import_module("manifests")  # deploy/manifests.py

pytestmark = pytest.mark.unit

Doc = dict[str, Any]
BACKENDS = list(run.SERVICES)  # ledger, tickets, risk
WITH_DATABASE = [*BACKENDS, "gateway"]
APPS = [*WITH_DATABASE, "console"]
PORTS = {**run.SERVICES, "gateway": run.GATEWAY_PORT, "console": run.CONSOLE_PORT}
AUDIT_TOPIC = "gateway.audit"
# Environment names a container may set besides its settings: the image's port, the parts
# of the database URL and OpenSSL's CA file.
PROCESS_NAMES = frozenset({"PORT", "DB_USER", "DB_PASSWORD", "SSL_CERT_FILE"})


@pytest.fixture(autouse=True)
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The apps built here make development keys below the working directory: not the
    checkout's."""
    monkeypatch.chdir(tmp_path)


def rendered(overlay: str = "base") -> list[Doc]:
    path = manifests.K8S / (overlay if overlay == "base" else f"overlays/{overlay}")
    return list(manifests.render(path))


def of_kind(docs: list[Doc], kind: str) -> dict[str, Doc]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


def container_of(workload: Doc) -> Doc:
    (container,) = workload["spec"]["template"]["spec"]["containers"]
    return dict(container)


def env_of(container: Doc) -> dict[str, Any]:
    return {item["name"]: item for item in container.get("env", [])}


def runtime_of(service: str) -> ServiceRuntime:
    """The service's runtime as its composition root builds it (no I/O until started)."""
    runtime: ServiceRuntime = importlib.import_module(f"{service}.bootstrap").bootstrap().runtime
    return runtime


def own_topics(service: str) -> set[str]:
    own = {events_topic(service), dead_letter_topic(service), dead_letter_notices_topic(service)}
    return own | ({AUDIT_TOPIC} if service == "gateway" else set())


def consumed_topics(runtime: ServiceRuntime) -> set[str]:
    topics = {t for p in runtime.projections for t in p.topics}
    return topics | {t for h in runtime.inboxes for t in h.topics} | set(runtime.extra_topics)


# --- the README's command, and the loader ------------------------------------------------


def readme_command() -> str:
    """The one command block of the README's "Deploying to a cluster"."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Deploying to a cluster", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```bash\n(.*?)```", section, re.DOTALL)
    return str(block)


def test_the_readme_validation_command_checks_every_kustomization() -> None:
    done = subprocess.run(
        ["bash", "-e", "-c", readme_command()],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for name in ("deploy/k8s/base", "deploy/k8s/overlays/dev", "deploy/k8s/overlays/prod"):
        assert re.search(rf"^{name}: \d+ objects; \d+ valid against Kubernetes", done.stdout, re.M)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
@pytest.mark.parametrize("overlay", ["base", "dev", "prod"])
def test_the_loader_renders_what_kubectl_kustomize_renders(overlay: str) -> None:
    path = manifests.K8S / (overlay if overlay == "base" else f"overlays/{overlay}")
    out = subprocess.run(
        ["kubectl", "kustomize", str(path)], capture_output=True, text=True, check=True
    ).stdout
    theirs = {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(out)}
    ours = {(d["kind"], d["metadata"]["name"]): d for d in rendered(overlay)}
    assert ours == theirs


def test_the_loader_refuses_a_kustomization_field_it_does_not_know(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("configMapGenerator: [{name: x}]\n")
    with pytest.raises(manifests.KustomizationError, match="configMapGenerator"):
        manifests.render(tmp_path)


def test_an_overlay_that_breaks_an_object_is_reported(tmp_path: Path) -> None:
    """An overlay's changed object is validated again (not taken as the base's, found valid)."""
    (tmp_path / "kustomization.yaml").write_text(
        f"resources: [{manifests.K8S / 'base'}]\npatches: [{{path: bad.yaml}}]\n"
    )
    (tmp_path / "bad.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: risk}\n"
        "spec: {template: {spec: {containers: [{name: risk, resources: {limits: 1}}]}}}\n"
    )
    valid: set[str] = set()
    assert manifests.problems_of(manifests.K8S / "base", valid)[1] == []
    problems = manifests.problems_of(tmp_path, valid)[1]
    assert len(problems) == 1 and problems[0].startswith("Deployment risk: 1 is not of type")


def test_the_overlays_change_replicas_and_resources_only_where_they_say() -> None:
    dev, prod = of_kind(rendered("dev"), "Deployment"), of_kind(rendered("prod"), "Deployment")
    assert {name: d["spec"]["replicas"] for name, d in dev.items()} == dict.fromkeys(APPS, 1)
    assert all(prod[name]["spec"]["replicas"] >= 2 for name in APPS)
    ledger = container_of(prod["ledger"])
    assert ledger["resources"]["limits"]["memory"] == "2Gi"
    assert ledger["readinessProbe"]["httpGet"]["path"] == "/health/ready"  # merged, not replaced
    assert {d["metadata"]["namespace"] for d in rendered("prod")} == {"backoffice"}


def broken_copies(docs: list[Doc]) -> Iterator[tuple[str, Doc]]:
    """One object per kind with a mistake its check must find."""
    deployment = copy.deepcopy(of_kind(docs, "Deployment")["ledger"])
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]["pth"] = "/"
    yield "'pth' was unexpected", deployment
    policy = copy.deepcopy(of_kind(docs, "NetworkPolicy")["ledger-from-gateway"])
    policy["spec"]["ingress"][0]["ports"][0]["port"] = [8001]
    yield "spec.ingress.0.ports.0.port", policy
    topic = copy.deepcopy(of_kind(docs, "KafkaTopic")["ledger-events"])
    topic["spec"]["config"]["min.insync.replicas"] = 1
    yield "min.insync.replicas 1", topic
    user = copy.deepcopy(of_kind(docs, "KafkaUser")["ledger"])
    user["spec"]["authentication"] = {"type": "tls"}
    yield "scram-sha-512", user
    kafka = copy.deepcopy(of_kind(docs, "Kafka")["backoffice"])
    del kafka["metadata"]["annotations"]["strimzi.io/kraft"]
    yield "strimzi.io/kraft", kafka
    cluster = copy.deepcopy(of_kind(docs, "Cluster")["backoffice-pg"])
    cluster["spec"]["instances"] = 1
    yield "spec.instances", cluster


def test_the_checks_find_a_mistake_in_each_kind() -> None:
    docs = rendered()
    for needle, broken in broken_copies(docs):
        problems = manifests.schema_problems(broken)
        assert any(needle in p for p in problems), (broken["kind"], problems)
        original = of_kind(docs, broken["kind"])[broken["metadata"]["name"]]
        assert manifests.schema_problems(original) == []


# --- the apps, their ports, probes, settings --------------------------------------------


def test_every_app_of_make_run_is_deployed_on_its_port() -> None:
    docs = rendered()
    deployments, services = of_kind(docs, "Deployment"), of_kind(docs, "Service")
    assert set(deployments) == set(APPS) == set(services)
    for name, port in PORTS.items():
        container = container_of(deployments[name])
        assert container["ports"] == [{"name": "http", "containerPort": port, "protocol": "TCP"}]
        assert env_of(container)["PORT"]["value"] == str(port)
        assert services[name]["spec"]["ports"][0]["port"] == port
        assert services[name]["spec"]["selector"] == {"app.kubernetes.io/name": name}
    jobs = of_kind(docs, "Job")
    assert {f"{name}-migrate" for name in WITH_DATABASE} == set(jobs)
    assert all(container_of(job)["args"] == ["migrate"] for job in jobs.values())


def app_of(name: str, tmp_path: Path) -> FastAPI:
    if name == "console":
        from console.main import create_app
        from console.settings import ConsoleSettings

        return create_app(ConsoleSettings(session_key_file=tmp_path / "session.key"))
    return importlib.import_module(f"{name}.main").create_app()  # type: ignore[no-any-return]


def test_every_probe_names_a_route_its_app_serves(tmp_path: Path) -> None:
    for name, deployment in of_kind(rendered(), "Deployment").items():
        container = container_of(deployment)
        routes = {getattr(route, "path", None) for route in app_of(name, tmp_path).routes}
        probes = [container[p] for p in ("startupProbe", "livenessProbe", "readinessProbe")]
        assert {p["httpGet"]["path"] for p in probes} <= routes, name
        assert {p["httpGet"]["port"] for p in probes} == {"http"}
        assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
        assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"


def environment_of(docs: list[Doc], workload: Doc) -> dict[str, str]:
    """What the container's process finds in its environment (secrets as stand-ins)."""
    config_maps = of_kind(docs, "ConfigMap")
    container = container_of(workload)
    environ: dict[str, str] = {}
    for source in container.get("envFrom", []):
        environ.update(config_maps[source["configMapRef"]["name"]]["data"])
    for name, item in env_of(container).items():
        value = item.get("value", f"secret-{name.lower()}")
        environ[name] = re.sub(r"\$\((\w+)\)", lambda m: environ[m.group(1)], value)
    return environ


def settings_class(name: str) -> Any:
    if name == "console":
        return importlib.import_module("console.settings").ConsoleSettings
    if name == "gateway":
        return importlib.import_module("gateway.settings").GatewaySettings
    module = importlib.import_module(f"{name}.bootstrap")
    return getattr(module, f"{name.capitalize()}Settings")


def known_names(name: str) -> set[str]:
    cls = settings_class(name)
    prefix = "CONSOLE_" if name == "console" else ""
    fields = {f"{prefix}{field}".upper() for field in cls.model_fields}
    aliases = {str(f.validation_alias) for f in cls.model_fields.values() if f.validation_alias}
    logs = {"LOG_FORMAT", "LOG_LEVEL"}  # shared_kernel.logs reads them in every process
    own_database = f"{name.upper()}_DATABASE_URL"
    return fields | aliases | logs | PROCESS_NAMES | {own_database}


def test_the_settings_in_the_manifests_are_read_and_accepted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every name set is one the process reads (a typo would be ignored silently), and the
    process's settings accept the values (JSON of GATEWAY_SERVICES, URLs, numbers)."""
    docs = rendered("prod")
    workloads = {**of_kind(docs, "Deployment"), **of_kind(docs, "Job")}
    for workload_name, workload in workloads.items():
        name = workload_name.removesuffix("-migrate")
        environ = environment_of(docs, workload)
        assert set(environ) <= known_names(name), (workload_name, set(environ) - known_names(name))
        with monkeypatch.context() as patched:
            for key in [k for k in os.environ if k.endswith("DATABASE_URL")]:
                patched.delenv(key)
            for key, value in environ.items():
                patched.setenv(key, value)
            settings = settings_class(name)()
        if name != "console":
            assert settings.environment == "production"
            assert settings.database_url.endswith(f"@backoffice-pg-rw:5432/{name}")
    gateway = environment_of(docs, workloads["gateway"])
    upstreams = json.loads(gateway["GATEWAY_SERVICES"])
    assert upstreams == {s: f"http://{s}:{p}" for s, p in run.SERVICES.items()}


def test_the_settings_in_the_compose_file_are_read_and_accepted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in APPS:
        environ = {
            key: re.sub(r"\$\{\w+:-(\w+)\}", r"\1", str(value))  # ${VAR:-default}
            for key, value in compose()["services"][name]["environment"].items()
        }
        assert set(environ) <= known_names(name), (name, set(environ) - known_names(name))
        with monkeypatch.context() as patched:
            for key in [k for k in os.environ if k.endswith("DATABASE_URL")]:
                patched.delenv(key)
            for key, value in environ.items():
                patched.setenv(key, value)
            settings = settings_class(name)()
        if name != "console":
            assert settings.database_url == f"postgresql://postgres:backoffice@postgres:5432/{name}"


def test_every_pod_runs_unprivileged_with_bounded_resources() -> None:
    docs = rendered("prod")
    budgets = of_kind(docs, "PodDisruptionBudget")
    for workload, template in manifests.pod_templates(docs):
        pod = template["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["automountServiceAccountToken"] is False
        container = container_of(workload)
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True
        assert security["allowPrivilegeEscalation"] is False
        assert security["capabilities"]["drop"] == ["ALL"]
        assert set(container["resources"]) == {"requests", "limits"}
        image, _, tag = container["image"].rpartition(":")
        assert image.startswith("registry.") and tag not in ("", "latest"), container["image"]
    for name, deployment in of_kind(docs, "Deployment").items():
        budget = budgets[name]["spec"]
        assert budget["selector"] == deployment["spec"]["selector"]
        assert budget.get("maxUnavailable") == 1 or budget.get("minAvailable")


def secrets_mounted(template: Doc) -> set[str]:
    names = set()
    for volume in template["spec"].get("volumes", []):
        if "secret" in volume:
            names.add(volume["secret"]["secretName"])
        for source in volume.get("projected", {}).get("sources", []):
            names |= {source["secret"]["name"]} if "secret" in source else set()
    return names


def test_only_the_gateway_holds_the_private_key() -> None:
    """The key that signs forwarded identities: a service holding it could forge any caller."""
    holders = {
        workload["metadata"]["name"]
        for workload, template in manifests.pod_templates(rendered())
        if "identity-private-key" in secrets_mounted(template)
    }
    assert holders == {"gateway"}
    services = compose()["services"]
    for name in BACKENDS:
        assert all(not v.startswith("keys:") for v in services[name]["volumes"]), name
        assert "IDENTITY_PRIVATE_KEY_FILE" not in services[name]["environment"]


# --- Kafka: topics and principals --------------------------------------------------------


def test_every_topic_the_code_uses_is_made_by_the_topic_operator() -> None:
    docs = rendered()
    topics = {t["spec"]["topicName"]: t["spec"] for t in of_kind(docs, "KafkaTopic").values()}
    partitions = int(of_kind(docs, "ConfigMap")["backoffice-config"]["data"]["TOPIC_PARTITIONS"])
    used: set[str] = set()
    for service in WITH_DATABASE:
        used |= own_topics(service) | consumed_topics(runtime_of(service))
    assert used == set(topics)
    for name, spec in topics.items():
        # As the services would create them (shared_kernel.runtime: TopicSpec).
        expected = 1 if name.endswith((".dead-letters", ".dead-letter-notices")) else partitions
        assert spec["partitions"] == expected, name
        assert EVENT_TOPIC_CONFIG.items() <= {k: str(v) for k, v in spec["config"].items()}.items()


def acl_grants(user: Doc) -> dict[tuple[str, str, str], set[str]]:
    """(resource type, name, pattern type) -> operations."""
    return {
        (
            acl["resource"]["type"],
            acl["resource"].get("name", ""),
            acl["resource"].get("patternType", "literal"),
        ): set(acl["operations"])
        for acl in user["spec"]["authorization"]["acls"]
    }


WRITING = {"Write", "Create", "Delete", "Alter", "All"}


def test_each_service_alone_writes_its_topics_and_reads_what_it_consumes() -> None:
    docs = rendered()
    users = of_kind(docs, "KafkaUser")
    assert set(users) == {*WITH_DATABASE, "data-team"}
    writers: dict[str, str] = {}
    for name, user in users.items():
        for (kind, resource, pattern), operations in acl_grants(user).items():
            if operations & WRITING:
                assert (kind, pattern) == ("topic", "literal"), (name, resource)
                assert resource not in writers, f"{resource}: {writers[resource]} and {name}"
                writers[resource] = name
    for service in WITH_DATABASE:
        grants = acl_grants(users[service])
        reads = {r for (k, r, p), ops in grants.items() if k == "topic" and "Read" in ops}
        assert {t for t, w in writers.items() if w == service} == own_topics(service)
        assert consumed_topics(runtime_of(service)) <= reads
        groups = {(r, p) for (k, r, p) in grants if k == "group"}
        assert groups == {(f"{service}.", "prefix")}  # shared_kernel.runtime.group_id
        assert runtime_of(service).group_id("x").startswith(f"{service}.")
    assert "data-team" not in writers.values()


def test_each_deployment_presents_its_own_kafka_principal() -> None:
    docs = rendered()
    for name, workload in {**of_kind(docs, "Deployment"), **of_kind(docs, "Job")}.items():
        service = name.removesuffix("-migrate")
        if service == "console":
            continue
        env = env_of(container_of(workload))
        assert env["KAFKA_SASL_USERNAME"]["value"] == service
        assert env["KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == service


def test_the_kafka_cluster_runs_the_version_of_the_local_brokers() -> None:
    pom = (DEPLOY / "kafka" / "pom.xml").read_text()
    (version,) = re.findall(r"<kafka.version>(.*?)</kafka.version>", pom)
    docs = rendered()
    assert of_kind(docs, "Kafka")["backoffice"]["spec"]["kafka"]["version"] == version
    pools = of_kind(docs, "KafkaNodePool").values()
    for role in ("controller", "broker"):
        assert sum(p["spec"]["replicas"] for p in pools if role in p["spec"]["roles"]) >= 3
    assert compose()["services"]["kafka"]["image"] == f"apache/kafka:{version}"


# --- PostgreSQL and the network ----------------------------------------------------------


def test_each_service_has_its_database_and_role() -> None:
    docs = rendered()
    cluster = of_kind(docs, "Cluster")["backoffice-pg"]["spec"]
    roles = {r["name"]: r["passwordSecret"]["name"] for r in cluster["managed"]["roles"]}
    databases = {d["spec"]["name"]: d["spec"] for d in of_kind(docs, "Database").values()}
    assert set(databases) == set(WITH_DATABASE) == set(roles)
    deployments = of_kind(docs, "Deployment")
    for service in WITH_DATABASE:
        assert databases[service]["owner"] == service
        assert databases[service]["cluster"]["name"] == "backoffice-pg"
        env = env_of(container_of(deployments[service]))
        assert env["DB_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == roles[service]
        secret = of_kind(docs, "Secret")[roles[service]]
        assert secret["stringData"]["username"] == service


def selects(selector: Doc, labels: dict[str, str]) -> bool:
    return dict(selector.get("matchLabels", {})).items() <= labels.items()


def ingress_peers(docs: list[Doc], labels: dict[str, str]) -> list[tuple[Doc, list[Any]]]:
    """(peer, ports) of every ingress rule of every policy selecting pods with ``labels``."""
    peers = []
    for policy in of_kind(docs, "NetworkPolicy").values():
        if selects(policy["spec"]["podSelector"], labels):
            for rule in policy["spec"].get("ingress", []):
                ports = [p["port"] for p in rule.get("ports", [])] or ["any"]
                peers += [(peer, ports) for peer in rule.get("from", [{"everyone": True}])]
    return peers


def test_only_the_gateway_reaches_the_services() -> None:
    docs = rendered()
    default = of_kind(docs, "NetworkPolicy")["default-deny-ingress"]["spec"]
    assert default == {"podSelector": {}, "policyTypes": ["Ingress"]}
    pods = {
        name: d["spec"]["template"]["metadata"]["labels"]
        for name, d in of_kind(docs, "Deployment").items()
    }
    gateway_pods = {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "gateway"}}}
    for service in BACKENDS:
        assert ingress_peers(docs, pods[service]) == [(gateway_pods, [PORTS[service]])]
    console_pods = {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "console"}}}
    gateway = ingress_peers(docs, pods["gateway"])
    assert (console_pods, [PORTS["gateway"]]) in gateway
    assert all("podSelector" not in peer or peer == console_pods for peer, _ in gateway)
    assert all(ports == [PORTS["gateway"]] for _, ports in gateway)


# --- Docker ------------------------------------------------------------------------------


def compose() -> Doc:
    document: Doc = yaml.safe_load((DEPLOY / "compose" / "compose.yaml").read_text())
    return document


def test_compose_runs_every_app_as_make_run_does() -> None:
    services = compose()["services"]
    assert set(APPS) | {"postgres", "kafka"} <= set(services)
    for name, port in PORTS.items():
        service = services[name]
        assert service["build"]["args"] == {"SERVICE": name, "PORT": str(port)}
        assert f"http://127.0.0.1:{port}/health/live" in " ".join(service["healthcheck"]["test"])
        conditions = {k: v["condition"] for k, v in service["depends_on"].items()}
        if name in WITH_DATABASE:
            assert conditions[f"{name}-migrate"] == "service_completed_successfully"
            assert services[f"{name}-migrate"]["command"] == ["migrate"]
        if name in BACKENDS:
            assert conditions["kafka"] == "service_healthy"
    gateway = services["gateway"]
    assert {s: "service_healthy" for s in BACKENDS}.items() <= {
        k: v["condition"] for k, v in gateway["depends_on"].items()
    }.items()
    upstreams = json.loads(gateway["environment"]["GATEWAY_SERVICES"])
    assert upstreams == {s: f"http://{s}:{p}" for s, p in run.SERVICES.items()}
    assert services["console"]["depends_on"]["gateway"]["condition"] == "service_healthy"
    for name, service in services.items():
        image = service["image"]
        assert ":" in image and not image.endswith(":latest"), name
        assert "healthcheck" in service or "command" in service or "entrypoint" in service, name
    init = (DEPLOY / "compose" / "postgres-init.sql").read_text()
    assert set(re.findall(r"CREATE DATABASE (\w+);", init)) == set(WITH_DATABASE)


def test_the_dockerfile_installs_from_the_lock_and_runs_unprivileged() -> None:
    dockerfile = (DEPLOY / "docker" / "Dockerfile").read_text()
    assert "uv sync --frozen --no-dev --package" in dockerfile
    assert re.search(r"^USER 10001", dockerfile, re.M)
    assert "/health/live" in dockerfile.split("HEALTHCHECK", 1)[1].split("\n\n", 1)[0]
    # A patch release of the Python the project is checked against (mypy's python_version).
    python = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]["python_version"]
    assert re.search(rf"^ARG PYTHON_IMAGE=python:{python}\.\d+-slim-\w+$", dockerfile, re.M)
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", ".data", ".git"} <= set(ignored)


def test_the_dockerfile_copies_every_workspace_member_before_syncing() -> None:
    """`uv sync --frozen` reads the whole workspace: a member whose pyproject.toml the first
    stage does not copy (a new service) would break every image's build."""
    dockerfile = (DEPLOY / "docker" / "Dockerfile").read_text()
    copied = set()
    for line in re.findall(r"^COPY (?!--from)(.+)$", dockerfile, re.M):
        *sources, _ = line.split()
        copied |= {source for source in sources if source != "."}
    assert all((ROOT / source).exists() for source in copied), copied
    workspace = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["uv"]["workspace"]
    members = {
        str(path.relative_to(ROOT) / "pyproject.toml")
        for pattern in workspace["members"]
        for path in ROOT.glob(pattern)
        if (path / "pyproject.toml").exists()
    }
    assert copied == members | {"uv.lock", "pyproject.toml"}
    ignored = {line for line in (ROOT / ".dockerignore").read_text().splitlines() if line}
    assert not ignored & {"deploy", "deploy/docker", "services", "shared"}


class Health(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/health/live" else 404)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.mark.parametrize(("status", "healthy"), [(200, True), (503, False)])
def test_the_image_healthcheck_asks_health_live_on_its_port(status: int, healthy: bool) -> None:
    """The HEALTHCHECK's command, run against a stand-in server on the image's $PORT."""
    dockerfile = (DEPLOY / "docker" / "Dockerfile").read_text()
    (command,) = re.findall(r"^\s+CMD (\[.*\])$", dockerfile, re.M)
    handler = type("Answer", (Health,), {"status": status})
    with socketserver.TCPServer(("127.0.0.1", 0), handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        argv = [sys.executable if arg == "python" else arg for arg in json.loads(command)]
        environ = {**os.environ, "PORT": str(server.server_address[1])}
        done = subprocess.run(argv, env=environ, capture_output=True, timeout=30, check=False)
        server.shutdown()
    assert (done.returncode == 0) is healthy


@pytest.mark.parametrize(
    ("service", "args", "expected"),
    [
        ("ledger", [], "-m uvicorn --factory ledger.main:create_app --host 0.0.0.0 --port 8001"),
        ("gateway", ["serve"], "-m gateway serve --host 0.0.0.0 --port 8001"),
        ("risk", ["migrate"], "-m risk migrate"),
    ],
)
def test_the_entrypoint_starts_the_service_as_make_run_does(
    tmp_path: Path, service: str, args: list[str], expected: str
) -> None:
    """The image's entrypoint, run with a stand-in python that prints what it was asked."""
    fake = tmp_path / "python"
    fake.write_text('#!/bin/sh\necho "$@"\n')
    fake.chmod(0o755)
    environ = {"PATH": f"{tmp_path}:/usr/bin:/bin", "SERVICE": service, "PORT": "8001"}
    done = subprocess.run(
        ["sh", str(DEPLOY / "docker" / "entrypoint.sh"), *args],
        env=environ,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.startswith(expected)
