"""schemathesis against the combined OpenAPI document of a running gateway.

Every operation the gateway describes (its own and every service's) is called with generated
data, valid and invalid, once with a back-office token (accountant) and once with a
front-office token (trader), through schemathesis' examples, coverage and fuzzing phases:

- no answer is a 5xx (``not_a_server_error``);
- invalid data is refused with a 4xx (``negative_data_rejection``), and valid data is never
  refused as malformed: the schema is not looser than the validation
  (``positive_data_acceptance``, and ``valid_data_passes_validation`` from the hooks: a
  business rule may still refuse it with 422, but never the request validation);
- every answer is documented: its status, content type, headers (``Location`` of a 201) and
  body (``status_code_conformance``, ``content_type_conformance``,
  ``response_headers_conformance``, ``response_schema_conformance``);
- a method an operation does not have is 405 with ``Allow`` (``unsupported_method``);
- the same request without the token is 401 (``ignored_auth``).

schemathesis runs as its command line: its pytest integration for schemas known only at run
time (``schemathesis.pytest.from_fixture``) does not work with pytest 9.2. Bounded by
``MAX_EXAMPLES`` per operation and phase; the stateful phase is off.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from .conftest import System, login

pytestmark = pytest.mark.e2e

# Per operation and phase; the run grows with the number of operations (SCHEMATHESIS_MAX_EXAMPLES
# trades depth for time).
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "20"))
HOOKS = Path(__file__).with_name("schemathesis_hooks.py")
# What refusing invalid data may look like (429: the gateway's rate limit, e.g. on log-in).
REFUSALS = [400, 401, 403, 404, 405, 409, 413, 415, 422, 429]
# What valid data may get besides success: no permission or record, a conflict with the
# state, a stale If-Match, a body over the gateway's size limit (a batch of 10,000 entries),
# a business rule's 422 (checked apart: never a malformed-request 422), the rate limit.
ACCEPTANCES = ["2xx", 401, 403, 404, 409, 412, 413, 422, 429]
CONFIG = f"""
hooks = "{HOOKS}"
workers = 2

[generation]
mode = "all"
max-examples = {MAX_EXAMPLES}
# The credentials are the test's: a generated X-API-Key beside the bearer token would only
# ever test the "one credential at a time" rule.
with-security-parameters = false

[checks]
enabled = false
not_a_server_error.enabled = true
negative_data_rejection = {{ enabled = true, expected-statuses = {REFUSALS} }}
positive_data_acceptance = {{ enabled = true, expected-statuses = {ACCEPTANCES} }}
valid_data_passes_validation.enabled = true
status_code_conformance.enabled = true
content_type_conformance.enabled = true
response_headers_conformance.enabled = true
response_schema_conformance.enabled = true
unsupported_method.enabled = true
ignored_auth.enabled = true
"""


# A crash inside the tool (CPython 3.11's ast.parse under hypothesis' lambda descriptions),
# not an answer of ours: such a run is repeated once; a failure of a check never is.
TOOL_CRASH = "AST constructor recursion depth mismatch"


def tool_crash_only(stdout: str) -> bool:
    """Did the run fail only by the tool's own known crash (errors, no failed check)?"""
    tail = stdout.strip().splitlines()[-1] if stdout.strip() else ""
    return TOOL_CRASH in stdout and "error" in tail and "failure" not in tail


def schemathesis(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    # In cwd: schemathesis keeps a cache (.schemathesis) where it runs.
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=900)


@pytest.mark.parametrize("role", ["accountant", "trader"], ids=["back-office", "front-office"])
async def test_generated_requests_get_no_server_error_and_invalid_data_a_4xx(
    module_system: System, role: str, tmp_path: Path
) -> None:
    async with httpx.AsyncClient(base_url=module_system.gateway_url, timeout=30) as gateway:
        auth = await login(gateway, role)
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    command = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run"]
    command += [f"{module_system.gateway_url}/openapi.json", "--no-color"]
    command += ["--phases", "examples,coverage,fuzzing", "--request-timeout", "30"]
    command += ["--header", f"Authorization: {auth['Authorization']}"]

    run = await asyncio.to_thread(schemathesis, command, tmp_path)
    if run.returncode != 0 and tool_crash_only(run.stdout):
        run = await asyncio.to_thread(schemathesis, command, tmp_path)  # once more

    output = tmp_path / "schemathesis.out"
    output.write_text(run.stdout + run.stderr)
    summary = run.stdout[-6000:]
    assert run.returncode == 0, f"schemathesis as {role} failed ({output}):\n{summary}"
    selected = re.search(r"Selected: (\d+)/(\d+)\s+Tested: (\d+)", run.stdout)
    assert selected, summary
    assert int(selected[1]) == int(selected[2]) == int(selected[3]) > 0, summary
