"""`KAFKA_PROFILE=cluster make run`: the cluster's three brokers, replication 3 with 2 in sync,
and each service's own principal; the default profile leaves `make run` as it was."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
sys.path.insert(0, str(DEPLOY))

import kafka_profile  # noqa: E402 (deploy/ is not a package)

pytestmark = pytest.mark.unit


def test_the_default_profile_is_one_broker_with_nothing_added(tmp_path: Path) -> None:
    assert kafka_profile.profile({}) == "single"
    assert kafka_profile.bootstrap_servers({}) == "127.0.0.1:9092"
    assert kafka_profile.bootstrap_servers({"KAFKA_PORT": "19092"}) == "127.0.0.1:19092"
    assert kafka_profile.service_kafka_env("ledger", {}, tmp_path) == {}
    assert kafka_profile.SCRIPT["single"] == "deploy/kafka/kafka.sh"


def test_the_cluster_profile_gives_each_service_its_own_principal(tmp_path: Path) -> None:
    cluster_dir = tmp_path / "kafka-cluster"
    cluster_dir.mkdir()
    # As cluster.sh writes it: printf %q quotes what the shell would split.
    (cluster_dir / "credentials.env").write_text(
        "KAFKA_ADMIN_PASSWORD=admin-dev-secret\n"
        "KAFKA_LEDGER_PASSWORD=l\\ p\\$w\n"
        "KAFKA_RISK_PASSWORD=risk-dev-secret\n"
    )
    environ = {"KAFKA_PROFILE": "cluster", "KAFKA_CLUSTER_PORT": "29192"}
    assert kafka_profile.bootstrap_servers(environ) == (
        "127.0.0.1:29192,127.0.0.1:29193,127.0.0.1:29194"
    )
    assert kafka_profile.service_kafka_env("ledger", environ, tmp_path) == {
        "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "KAFKA_SASL_USERNAME": "ledger",
        "KAFKA_SASL_PASSWORD": "l p$w",
        "KAFKA_REPLICATION_FACTOR": "3",
        "KAFKA_MIN_INSYNC_REPLICAS": "2",
    }
    assert kafka_profile.service_kafka_env("risk", environ, tmp_path)["KAFKA_SASL_USERNAME"] == (
        "risk"
    )
    # The console has no Kafka principal: it gets nothing, rather than someone else's.
    assert kafka_profile.service_kafka_env("console", environ, tmp_path) == {}
    assert kafka_profile.SCRIPT["cluster"] == "deploy/kafka/cluster.sh"


def test_credentials_read_back_what_the_shell_quoted(tmp_path: Path) -> None:
    password = 'it\'s a "pass" $word'
    quoted = subprocess.run(
        ["bash", "-c", 'printf "KAFKA_GATEWAY_PASSWORD=%q\\n" "$0"', password],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    (tmp_path / "credentials.env").write_text(quoted)
    assert kafka_profile.credentials(tmp_path) == {"KAFKA_GATEWAY_PASSWORD": password}


def test_an_unknown_profile_is_refused() -> None:
    with pytest.raises(SystemExit, match="KAFKA_PROFILE must be one of single, cluster"):
        kafka_profile.profile({"KAFKA_PROFILE": "three"})
