"""The README's "Fault campaign" command, run by bash as a user runs it (with the long waits
halved, as its second line says): every row holds (the disk-full row runs only as root),
nothing acknowledged was lost, and the rebuild after the last row changed nothing. One stack
for all rows; about ten minutes."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.make_run_stack import FOREIGN, ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Fault campaign\n", 1)[1].split("\n## ", 1)[0]
    block = section.split("```bash\n", 1)[1].split("\n```", 1)[0]
    return [line.split("#", 1)[0].strip() for line in block.splitlines() if line.strip()]


def cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """Not pytest's tmp_path: another pytest session on the machine makes /tmp/pytest-of-<user>
    private again (0700) and prunes old runs, which locks PostgreSQL's own account out of its
    data directory (pg.py runs the server as another user under root) mid-campaign."""
    made = Path(tempfile.mkdtemp(prefix="backoffice-faults-"))
    try:
        yield made / "faults"
    finally:
        shutil.rmtree(made, ignore_errors=True)


def test_the_fault_campaign_runs_as_the_readme_says_and_every_row_holds(data_dir: Path) -> None:
    full, halved = readme_commands()
    assert full == "make faults", full
    assert halved == "FAULT_SCALE=0.5 make faults", halved
    # A user's shell: none of the test run's servers; the data dir is this test's own.
    env = {
        k: v for k, v in os.environ.items() if k not in FOREIGN and not k.endswith("_DATABASE_URL")
    }
    env["FAULTS_DATA_DIR"] = str(data_dir)
    done = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", halved],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1700,
        check=False,
    )
    said = done.stdout[-6000:] + done.stderr[-4000:]
    written = data_dir / "fault-campaign.md"
    assert written.exists(), said
    report = written.read_text()
    print(report)  # the table, for whoever runs this test with -s
    assert report in done.stdout, said  # printed, and written under the data dir
    rows = [
        cells(line) for line in report.splitlines() if line[:4] in {f"| {n}." for n in range(1, 8)}
    ]
    assert len(rows) == 7, report
    for row in rows:
        name, verdict = row[0], row[-1]
        if "disk full" in name and os.geteuid() != 0:
            assert verdict.startswith("not run: mounting a small tmpfs needs root"), row
            continue
        assert verdict.startswith("yes"), row
        requests, acknowledged, lost = int(row[1]), int(row[2]), row[5]
        assert requests > 10 and 0 < acknowledged <= requests, row
        assert lost == "0", row
    assert "read models rebuilt from Kafka: equal." in report, report
    assert done.returncode == 0, said
