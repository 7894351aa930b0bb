"""The suite refuses a test that belongs to no tier, instead of skipping it silently."""

from __future__ import annotations

from pathlib import Path

import pytest
from shared_kernel.pytest_tiers import tier_of

pytestmark = pytest.mark.unit

PLUGIN = ["-p", "shared_kernel.pytest_tiers", "-p", "no:randomly", "-p", "no:asyncio"]


def test_the_tier_comes_from_the_nearest_tier_directory() -> None:
    assert tier_of(Path("services/ledger/tests/unit/test_x.py")) == "unit"
    assert tier_of(Path("tests/e2e/test_x.py")) == "e2e"
    assert tier_of(Path("shared/tests/integration/sub/test_x.py")) == "integration"
    assert tier_of(Path("tests/test_x.py")) is None


def test_a_test_in_a_tier_directory_is_selected_by_its_tier(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(**{"unit/test_a.py": "def test_a():\n    pass\n"})
    pytester.makepyfile(**{"integration/test_b.py": "def test_b():\n    pass\n"})
    result = pytester.runpytest(*PLUGIN, "-m", "unit")
    result.assert_outcomes(passed=1, deselected=1)


def test_a_test_outside_the_tier_directories_fails_the_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_loose="def test_loose():\n    pass\n")
    result = pytester.runpytest(*PLUGIN)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*test_loose.py::test_loose: not in a unit/*"])


def test_a_marker_naming_another_tier_fails_the_run(pytester: pytest.Pytester) -> None:
    source = "import pytest\n\n@pytest.mark.e2e\ndef test_c():\n    pass\n"
    pytester.makepyfile(**{"unit/test_c.py": source})
    result = pytester.runpytest(*PLUGIN)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*lives in unit/ but is marked e2e*"])
