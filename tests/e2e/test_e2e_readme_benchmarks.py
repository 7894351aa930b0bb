"""The README's benchmark commands, run by bash as a user copies them: `deploy/bench.sh` with
throw-away servers of its own, and `run.py` against servers already running (here the test
run's own, in place of `make infra-up`'s ports)."""

from __future__ import annotations

import os
import re
import subprocess

import pytest
from sqlalchemy.engine import make_url

from tests.e2e.make_run_stack import ROOT

pytestmark = pytest.mark.e2e


def benchmark_commands() -> list[str]:
    """The commands of the README's "Benchmarks" shell block (continuation lines joined)."""
    text = (ROOT / "README.md").read_text()
    section = text.split("### Benchmarks", 1)[1].split("\n### ", 1)[0]
    block = section.split("```bash\n", 1)[1].split("\n```", 1)[0]
    lines = [line for line in block.replace("\\\n", " ").splitlines() if line.strip()]
    return [line for line in lines if not line.lstrip().startswith("#")]


def users_shell() -> dict[str, str]:
    """A user's shell: none of the test run's own settings leak into deploy/bench.sh."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.endswith("_DATABASE_URL") and name != "KAFKA_BOOTSTRAP_SERVERS"
    }


def run(command: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, f"{command}\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return done.stdout


def measured_row(output: str, figure: str) -> list[str]:
    """The closing table's row of ``figure``: it must hold a measured value."""
    rows = [line for line in output.splitlines() if line.startswith(f"| {figure}")]
    assert rows, f"no table row for {figure!r} in:\n{output[-3000:]}"
    cells = [cell.strip() for cell in rows[0].strip("|").split("|")]
    assert cells[1] != "not run" and re.search(r"\d", cells[1]), rows[0]
    return cells


def test_the_readme_benchmark_commands_run_as_written() -> None:
    commands = benchmark_commands()
    assert len(commands) == 2, f"the README's Benchmarks block changed shape: {commands}"
    own_servers, existing_servers = commands
    env = users_shell()
    output = run(own_servers, env)
    lag = measured_row(output, "command -> read model lag p99")
    assert lag[-1] in ("yes", "no"), lag
    assert "where it goes" in output  # the split into the relay's and the projection's share

    # "Servers already running": the test run's own stand in for `make infra-up`'s.
    server = make_url(os.environ["TEST_DATABASE_URL"])
    kafka = os.environ["KAFKA_BOOTSTRAP_SERVERS"]
    command = existing_servers.replace("127.0.0.1:55432", f"{server.host}:{server.port}").replace(
        "127.0.0.1:9092", kafka
    )
    assert command != existing_servers, "the README no longer names make infra-up's servers"
    output = run(command, env)
    measured_row(output, "outbox relay")


def replicas_benchmark_command() -> str:
    """The benchmark command of the README's "Replicas" section."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Replicas\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)\n```", section, re.S)
    [command] = [line for block in blocks for line in block.splitlines() if "bench.sh" in line]
    return str(command)


@pytest.mark.timeout(900)
def test_the_readme_replicas_benchmark_runs_as_written() -> None:
    command = replicas_benchmark_command()
    assert command == "bash deploy/bench.sh replicas", command
    env = users_shell()
    # Short loads: this shows that it runs and measures, not what it measures.
    output = run(command, {**env, "BENCH_REPLICAS_SECONDS": "3"})
    summary = output.split("== summary", 1)[1]  # each line once (it was printed when measured)
    rates = re.findall(
        r"journal entries via gateway, (\d) ledger replica\(s\) +([\d,]+) entries/s", summary
    )
    assert [replicas for replicas, _ in rates] == ["1", "2", "4"], output[-3000:]
    assert all(int(rate.replace(",", "")) > 0 for _, rate in rates), rates
    cpu = re.findall(r"CPU seconds per ledger replica over 3s: ", summary)
    assert len(cpu) == 3, output[-3000:]
    assert "failed: none" in output, output[-3000:]
