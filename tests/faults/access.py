"""How the campaign reaches the stack's servers as an operator would: a service's command line
with the service's own Kafka principal, and the cluster's admin principal for reading every
topic and describing every consumer group."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from tests.e2e.make_run_stack import ROOT, MakeRunStack

sys.path.insert(0, str(ROOT / "deploy"))
import kafka_profile  # deploy/kafka_profile.py: the cluster's settings


def cli_env(stack: MakeRunStack, service: str) -> dict[str, str]:
    """A service's command line (rebuild, verify) against the stack, on the cluster with the
    service's own principal."""
    data = Path(stack.env["BACKOFFICE_DATA_DIR"])
    return {
        **stack.cli_env,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_profile.bootstrap_servers(stack.env),
        **kafka_profile.service_kafka_env(service, stack.env, data),
    }


def admin_kafka(stack: MakeRunStack) -> dict[str, Any]:
    """aiokafka settings of the cluster's admin principal: it reads every topic."""
    data = kafka_profile.cluster_data_dir(stack.env, Path(stack.env["BACKOFFICE_DATA_DIR"]))
    return {
        "bootstrap_servers": kafka_profile.bootstrap_servers(stack.env),
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "admin",
        "sasl_plain_password": kafka_profile.credentials(data)["KAFKA_ADMIN_PASSWORD"],
    }
