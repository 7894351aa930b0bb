"""Offline check of the Kubernetes manifests (deploy/k8s/): ``python deploy/manifests.py``.

No cluster and no kubectl are needed. Each kustomization (the base and every overlay) is
rendered by ``render``, a small loader for the part of Kustomize these files use, and every
object is then checked:

- the core kinds (Deployment, Service, PodDisruptionBudget, NetworkPolicy, ConfigMap, Secret,
  Job) against the OpenAPI schema of Kubernetes ``KUBERNETES_VERSION``, strictly (an unknown
  field is an error), with ``kubernetes-validate``, which ships the schemas;
- the custom resources of the operators (Strimzi's Kafka, KafkaNodePool, KafkaTopic, KafkaUser;
  CloudNativePG's Cluster and Database), whose schemas are not shipped, for the fields this
  deployment relies on (``custom_resource_problems``).

``render`` knows ``resources`` (files and directories), ``namespace``, ``images``, ``replicas``
and ``patches`` given as strategic-merge patch files (maps merged key by key; lists of named
items, such as containers, merged by name; other lists replaced). Any other field of a
kustomization is refused rather than ignored. tests/unit/test_deploy_manifests.py compares its
output with ``kubectl kustomize`` where kubectl is installed.

Exit status 0 when every object passes, 1 otherwise (each problem printed).
"""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import yaml  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "deploy" / "k8s"
# The Kubernetes version whose schemas the core kinds are checked against.
KUBERNETES_VERSION = "1.33"
CORE_API_VERSIONS = frozenset({"v1", "apps/v1", "batch/v1", "policy/v1", "networking.k8s.io/v1"})
STRIMZI = "kafka.strimzi.io/v1beta2"
CNPG = "postgresql.cnpg.io/v1"
KNOWN_FIELDS = frozenset(
    {"apiVersion", "kind", "resources", "namespace", "images", "replicas", "patches"}
)
Doc = dict[str, Any]


class KustomizationError(ValueError):
    """A kustomization this loader cannot render faithfully."""


def load_documents(path: Path) -> list[Doc]:
    """The YAML documents of a file, empty ones (comments only) left out."""
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def render(directory: Path) -> list[Doc]:
    """The objects a kustomization directory stands for (see the module's docstring)."""
    kustomization: Doc = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unknown = set(kustomization) - KNOWN_FIELDS
    if unknown:
        raise KustomizationError(f"{directory}: fields not understood: {sorted(unknown)}")
    docs: list[Doc] = []
    for entry in kustomization.get("resources", []):
        path = directory / entry
        docs += render(path) if path.is_dir() else load_documents(path)
    for patch in kustomization.get("patches", []):
        if set(patch) != {"path"}:
            raise KustomizationError(f"{directory}: only patches given by path: {patch}")
        for change in load_documents(directory / patch["path"]):
            strategic_merge(find(docs, change["kind"], change["metadata"]["name"]), change)
    for replicas in kustomization.get("replicas", []):
        find(docs, "Deployment", replicas["name"])["spec"]["replicas"] = replicas["count"]
    for image in kustomization.get("images", []):
        set_image(docs, image)
    if "namespace" in kustomization:
        for doc in docs:
            doc["metadata"]["namespace"] = kustomization["namespace"]
    return docs


def find(docs: list[Doc], kind: str, name: str) -> Doc:
    for doc in docs:
        if doc["kind"] == kind and doc["metadata"]["name"] == name:
            return doc
    raise KustomizationError(f"no {kind} {name} to patch")


def strategic_merge(target: Doc, patch: Doc) -> None:
    """Merge ``patch`` into ``target`` in place (the subset of a strategic-merge patch above)."""
    for key, value in patch.items():
        current = target.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            strategic_merge(current, value)
        elif isinstance(value, list) and isinstance(current, list) and _named(value + current):
            by_name = {item["name"]: item for item in current}
            for item in value:
                if item["name"] in by_name:
                    strategic_merge(by_name[item["name"]], item)
                else:
                    current.append(copy.deepcopy(item))
        else:
            target[key] = copy.deepcopy(value)


def _named(items: list[Any]) -> bool:
    return bool(items) and all(isinstance(item, dict) and "name" in item for item in items)


def set_image(docs: list[Doc], image: Doc) -> None:
    """Kustomize's ``images``: a container image named ``name`` gets ``newName:newTag``."""
    for container in containers(docs):
        if container["image"].split(":", 1)[0] == image["name"]:
            name = image.get("newName", image["name"])
            container["image"] = f"{name}:{image['newTag']}" if "newTag" in image else name


def pod_templates(docs: Iterable[Doc]) -> list[tuple[Doc, Doc]]:
    """(workload, its pod template) for every Deployment and Job."""
    return [(doc, doc["spec"]["template"]) for doc in docs if doc["kind"] in ("Deployment", "Job")]


def containers(docs: Iterable[Doc]) -> list[Doc]:
    return [c for _, template in pod_templates(docs) for c in template["spec"]["containers"]]


def schema_problems(doc: Doc) -> list[str]:
    """Core kinds against Kubernetes' schema, the others by ``custom_resource_problems``."""
    if doc.get("apiVersion") in CORE_API_VERSIONS:
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as invalid:
            return [f"{invalid.message} at {'.'.join(map(str, invalid.path))}"]
        return []
    return custom_resource_problems(doc)


def custom_resource_problems(doc: Doc) -> list[str]:
    checks = {
        (STRIMZI, "Kafka"): _kafka,
        (STRIMZI, "KafkaNodePool"): _node_pool,
        (STRIMZI, "KafkaTopic"): _topic,
        (STRIMZI, "KafkaUser"): _user,
        (CNPG, "Cluster"): _pg_cluster,
        (CNPG, "Database"): _pg_database,
    }
    check = checks.get((doc.get("apiVersion", ""), doc.get("kind", "")))
    if check is None:
        return [f"unknown kind {doc.get('apiVersion')}/{doc.get('kind')}"]
    if not doc.get("metadata", {}).get("name"):
        return ["metadata.name missing"]
    return check(doc.get("spec") or {}, doc["metadata"])


def _kafka(spec: Doc, metadata: Doc) -> list[str]:
    kafka, problems = spec.get("kafka") or {}, []
    annotations = metadata.get("annotations") or {}
    for annotation in ("strimzi.io/node-pools", "strimzi.io/kraft"):
        if annotations.get(annotation) != "enabled":
            problems.append(f"annotation {annotation}: enabled missing (KRaft with node pools)")
    if "zookeeper" in spec:
        problems.append("spec.zookeeper: KRaft only")
    if not str(kafka.get("version", "")).startswith("4."):
        problems.append("spec.kafka.version must be a Kafka 4 version")
    scram = [
        listener
        for listener in kafka.get("listeners") or []
        if (listener.get("authentication") or {}).get("type") == "scram-sha-512"
    ]
    if not scram:
        problems.append("spec.kafka.listeners: no listener with scram-sha-512 authentication")
    if (kafka.get("authorization") or {}).get("type") != "simple":
        problems.append("spec.kafka.authorization.type must be simple (ACLs)")
    config = kafka.get("config") or {}
    wanted = {
        "default.replication.factor": 3,
        "min.insync.replicas": 2,
        "offsets.topic.replication.factor": 3,
        "auto.create.topics.enable": False,
    }
    problems += [
        f"spec.kafka.config.{k} must be {v}" for k, v in wanted.items() if config.get(k) != v
    ]
    operators = spec.get("entityOperator") or {}
    if "topicOperator" not in operators or "userOperator" not in operators:
        problems.append("spec.entityOperator needs topicOperator and userOperator")
    return problems


def _node_pool(spec: Doc, metadata: Doc) -> list[str]:
    problems = _cluster_label(metadata)
    roles = spec.get("roles") or []
    if not roles or not set(roles) <= {"controller", "broker"}:
        problems.append(f"spec.roles {roles}: controller and/or broker")
    if not isinstance(spec.get("replicas"), int) or spec["replicas"] < 1:
        problems.append("spec.replicas must be a positive number")
    if (spec.get("storage") or {}).get("type") not in ("persistent-claim", "jbod"):
        problems.append("spec.storage must be persistent (persistent-claim or jbod)")
    return problems


def _topic(spec: Doc, metadata: Doc) -> list[str]:
    problems = _cluster_label(metadata)
    if not isinstance(spec.get("partitions"), int) or spec["partitions"] < 1:
        problems.append("spec.partitions must be a positive number")
    replicas = spec.get("replicas")
    min_isr = (spec.get("config") or {}).get("min.insync.replicas")
    if replicas != 3 or min_isr != 2:
        problems.append(f"replicas {replicas}, min.insync.replicas {min_isr}: must be 3 and 2")
    return problems


ACL_OPERATIONS = frozenset(
    {"Read", "Write", "Create", "Delete", "Alter", "Describe", "DescribeConfigs", "All"}
)


def _user(spec: Doc, metadata: Doc) -> list[str]:
    problems = _cluster_label(metadata)
    if (spec.get("authentication") or {}).get("type") != "scram-sha-512":
        problems.append("spec.authentication.type must be scram-sha-512")
    authorization = spec.get("authorization") or {}
    if authorization.get("type") != "simple" or not authorization.get("acls"):
        problems.append("spec.authorization: type simple with acls")
    for acl in authorization.get("acls") or []:
        resource = acl.get("resource") or {}
        if resource.get("type") not in ("topic", "group", "cluster", "transactionalId"):
            problems.append(f"acl resource type {resource.get('type')!r}")
        if resource.get("type") != "cluster" and not resource.get("name"):
            problems.append("acl resource without a name")
        if resource.get("patternType", "literal") not in ("literal", "prefix"):
            problems.append(f"acl patternType {resource.get('patternType')!r}")
        operations = set(acl.get("operations") or [])
        if not operations or not operations <= ACL_OPERATIONS:
            problems.append(f"acl operations {sorted(operations)}")
    return problems


def _cluster_label(metadata: Doc) -> list[str]:
    labels = metadata.get("labels") or {}
    return [] if labels.get("strimzi.io/cluster") else ["label strimzi.io/cluster missing"]


def _pg_cluster(spec: Doc, metadata: Doc) -> list[str]:
    problems = []
    if not isinstance(spec.get("instances"), int) or spec["instances"] < 3:
        problems.append("spec.instances must be 3 or more (a primary and two replicas)")
    if not (spec.get("storage") or {}).get("size"):
        problems.append("spec.storage.size missing")
    for role in (spec.get("managed") or {}).get("roles") or []:
        if not role.get("name") or not (role.get("passwordSecret") or {}).get("name"):
            problems.append(f"managed role {role}: name and passwordSecret")
    return problems


def _pg_database(spec: Doc, metadata: Doc) -> list[str]:
    missing = [k for k in ("name", "owner") if not spec.get(k)]
    if not (spec.get("cluster") or {}).get("name"):
        missing.append("cluster.name")
    return [f"spec.{k} missing" for k in missing]


def kustomizations() -> list[Path]:
    """The base and every overlay."""
    return [
        K8S / "base",
        *sorted(p.parent for p in (K8S / "overlays").glob("*/kustomization.yaml")),
    ]


def problems_of(directory: Path, valid: set[str] | None = None) -> tuple[list[Doc], list[str]]:
    """The rendered objects of a kustomization and every problem found in them. ``valid``
    remembers the objects found valid, apart from their namespace, so that an overlay's
    objects the overlay leaves as they are (most of them) are not validated again."""
    docs, problems = render(directory), []
    valid = set() if valid is None else valid
    seen: set[tuple[str, str]] = set()
    for doc in docs:
        key = (doc.get("kind", "?"), doc.get("metadata", {}).get("name", "?"))
        if key in seen:
            problems.append(f"{key[0]} {key[1]}: defined twice")
        seen.add(key)
        fingerprint = json.dumps(
            {**doc, "metadata": {**doc.get("metadata", {}), "namespace": None}}, sort_keys=True
        )
        if fingerprint in valid:
            continue
        found = schema_problems(doc)
        problems += [f"{key[0]} {key[1]}: {p}" for p in found]
        if not found:
            valid.add(fingerprint)
    return docs, problems


def main() -> int:
    failed, valid = False, set[str]()
    for directory in kustomizations():
        docs, problems = problems_of(directory, valid)
        core = sum(doc["apiVersion"] in CORE_API_VERSIONS for doc in docs)
        name = directory.relative_to(ROOT)
        print(
            f"{name}: {len(docs)} objects; {core} valid against Kubernetes {KUBERNETES_VERSION}"
            f" schemas, {len(docs) - core} custom resources checked"
            if not problems
            else f"{name}: {len(problems)} problem(s)"
        )
        for problem in problems:
            print(f"  {problem}")
        failed = failed or bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
