"""`LEDGER_REPLICAS=2 make run`: how many processes per service, on which ports, and the process
file that tells other tools which process is which."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "deploy"))

from replicas import (  # deploy/ is not a package: on sys.path above
    Running,
    all_replicas,
    read_process_file,
    replicas,
    write_process_file,
)

pytestmark = pytest.mark.unit

DEFAULTS = {"ledger": 8001, "tickets": 8002, "risk": 8003, "gateway": 8000}


def test_one_replica_by_default_on_the_service_port() -> None:
    (only,) = replicas("ledger", 8001, {})
    assert (only.replica, only.port, only.label, only.url) == (
        1,
        8001,
        "ledger",
        "http://127.0.0.1:8001",
    )
    assert [r.port for r in replicas("ledger", 8001, {"LEDGER_PORT": "9001"})] == [9001]


def test_replica_k_listens_a_hundred_ports_further_per_replica() -> None:
    found = replicas("ledger", 8001, {"LEDGER_REPLICAS": "3"})
    assert [(r.replica, r.port, r.label) for r in found] == [
        (1, 8001, "ledger#1"),
        (2, 8101, "ledger#2"),
        (3, 8201, "ledger#3"),
    ]
    assert [
        r.port for r in replicas("risk", 8003, {"RISK_REPLICAS": "2", "RISK_PORT": "7003"})
    ] == [
        7003,
        7103,
    ]


def test_listed_ports_set_the_count_and_must_agree_with_replicas() -> None:
    listed = {"GATEWAY_PORTS": "40001, 40007"}
    assert [r.port for r in replicas("gateway", 8000, listed)] == [40001, 40007]
    agreed = {**listed, "GATEWAY_REPLICAS": "2"}
    assert [r.port for r in replicas("gateway", 8000, agreed)] == [40001, 40007]
    with pytest.raises(SystemExit, match="GATEWAY_REPLICAS=3 but GATEWAY_PORTS lists 2"):
        replicas("gateway", 8000, {**listed, "GATEWAY_REPLICAS": "3"})


@pytest.mark.parametrize("count", ["0", "9", "two", "-1", "1.5"])
def test_a_count_outside_one_to_eight_stops_make_run_naming_the_setting(count: str) -> None:
    with pytest.raises(SystemExit, match="LEDGER_REPLICAS must be a whole number from 1 to 8"):
        replicas("ledger", 8001, {"LEDGER_REPLICAS": count})


@pytest.mark.parametrize("ports", ["8001,x", "8001,,8002", "70000", "8001,8001"])
def test_malformed_or_repeated_ports_are_refused(ports: str) -> None:
    with pytest.raises(SystemExit, match="LEDGER_PORTS"):
        replicas("ledger", 8001, {"LEDGER_PORTS": ports})


def test_two_services_on_one_port_are_refused() -> None:
    # ledger#2 would take 8101, which the risk service was given.
    with pytest.raises(SystemExit, match=r"port\(s\) \[8101\]"):
        all_replicas(DEFAULTS, {"LEDGER_REPLICAS": "2", "RISK_PORT": "8101"})
    assert len(all_replicas(DEFAULTS, {"LEDGER_REPLICAS": "2"})["ledger"]) == 2


def test_the_process_file_is_replaced_whole_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "run" / "processes.json"
    first = [Running("ledger", 1, 8001, 11), Running("ledger", 2, 8101, 12)]
    write_process_file(path, first)
    assert json.loads(path.read_text()) == {
        "processes": [
            {"name": "ledger", "replica": 1, "port": 8001, "pid": 11},
            {"name": "ledger", "replica": 2, "port": 8101, "pid": 12},
        ]
    }
    write_process_file(path, [first[0], Running("ledger", 2, 8101, 13)])
    assert read_process_file(path)[1].pid == 13
    assert [p.name for p in path.parent.iterdir()] == ["processes.json"]  # no temporary left


@pytest.mark.parametrize(
    ("settings", "complaint"),
    [
        ({"LEDGER_REPLICAS": "9"}, "LEDGER_REPLICAS must be a whole number from 1 to 8, not '9'"),
        (
            {"GATEWAY_REPLICAS": "2", "GATEWAY_PORTS": "18000"},
            "GATEWAY_REPLICAS=2 but GATEWAY_PORTS lists 1 ports",
        ),
    ],
)
def test_make_run_stops_at_once_on_a_bad_setting(
    tmp_path: Path, settings: dict[str, str], complaint: str
) -> None:
    """`LEDGER_REPLICAS=9 make run` says what is wrong and starts nothing."""
    root = Path(__file__).resolve().parents[2]
    environ = {k: v for k, v in os.environ.items() if not k.endswith(("_REPLICAS", "_PORTS"))}
    done = subprocess.run(
        [sys.executable, "deploy/run.py"],
        cwd=root,
        env={**environ, **settings, "BACKOFFICE_DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert complaint in done.stderr
    assert list(tmp_path.iterdir()) == []  # nothing started, nothing written
