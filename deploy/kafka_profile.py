"""Which Kafka `make run` starts: one broker (``KAFKA_PROFILE=single``, the default) or the
three-node cluster of deploy/kafka/cluster.sh (``KAFKA_PROFILE=cluster``), and what each service
then needs to reach it: all three brokers, replication 3 with 2 in sync, and its own SCRAM
principal, whose password cluster.sh keeps in its data directory (``credentials.env``)."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from pathlib import Path

PROFILES = ("single", "cluster")
SCRIPT = {"single": "deploy/kafka/kafka.sh", "cluster": "deploy/kafka/cluster.sh"}
# The principals cluster.sh creates for services; any other process gets no credentials.
PRINCIPALS = ("ledger", "tickets", "risk", "gateway")


def profile(environ: Mapping[str, str]) -> str:
    chosen = environ.get("KAFKA_PROFILE") or "single"
    if chosen not in PROFILES:
        raise SystemExit(f"KAFKA_PROFILE must be one of {', '.join(PROFILES)}, not {chosen!r}")
    return chosen


def cluster_data_dir(environ: Mapping[str, str], data: Path) -> Path:
    """Where cluster.sh keeps its nodes and credentials (its own default, from our data dir)."""
    return Path(environ.get("KAFKA_CLUSTER_DATA_DIR") or data / "kafka-cluster").resolve()


def bootstrap_servers(environ: Mapping[str, str]) -> str:
    """The brokers of the profile: ``KAFKA_PORT`` for one, the three cluster ports otherwise."""
    if profile(environ) == "single":
        return f"127.0.0.1:{environ.get('KAFKA_PORT', '9092')}"
    first = int(environ.get("KAFKA_CLUSTER_PORT", "9192"))
    return ",".join(f"127.0.0.1:{first + node}" for node in range(3))


def credentials(data_dir: Path) -> dict[str, str]:
    """``credentials.env`` as cluster.sh wrote it (``NAME=value`` lines, shell-quoted)."""
    found: dict[str, str] = {}
    for line in (data_dir / "credentials.env").read_text().splitlines():
        name, _, quoted = line.partition("=")
        found[name] = "".join(shlex.split(quoted))
    return found


def service_kafka_env(service: str, environ: Mapping[str, str], data: Path) -> dict[str, str]:
    """The Kafka settings of a service's process: none beyond the brokers for one broker; on
    the cluster its principal, SASL/SCRAM and the cluster's replication."""
    if profile(environ) == "single" or service not in PRINCIPALS:
        return {}
    secrets = credentials(cluster_data_dir(environ, data))
    return {
        "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "KAFKA_SASL_USERNAME": service,
        "KAFKA_SASL_PASSWORD": secrets[f"KAFKA_{service.upper()}_PASSWORD"],
        "KAFKA_REPLICATION_FACTOR": "3",
        "KAFKA_MIN_INSYNC_REPLICAS": "2",
    }
