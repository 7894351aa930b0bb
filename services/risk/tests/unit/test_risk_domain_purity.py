"""The domain stays pure: no web framework, database driver, validation library or Kafka."""

import ast
from pathlib import Path

import pytest
import risk.domain

pytestmark = pytest.mark.unit

FORBIDDEN = {"fastapi", "starlette", "sqlalchemy", "asyncpg", "pydantic", "aiokafka", "httpx"}


def imported_top_level_packages(source: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_domain_modules_import_no_infrastructure() -> None:
    package = Path(risk.domain.__file__).parent
    modules = sorted(package.glob("*.py"))
    assert len(modules) > 1

    offending = {module.name: imported_top_level_packages(module) & FORBIDDEN for module in modules}

    assert {name: found for name, found in offending.items() if found} == {}
