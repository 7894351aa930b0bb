"""Reads the access policy from its TOML file."""

from __future__ import annotations

import tomllib
from pathlib import Path

from gateway.domain.policy import Policy, PolicyError


def load_policy(path: Path) -> Policy:
    try:
        with path.open("rb") as file:
            document = tomllib.load(file)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise PolicyError(f"cannot read the policy file {path}: {exc}") from exc
    try:
        return Policy.from_document(document)
    except PolicyError as exc:
        raise PolicyError(f"{path}: {exc}") from None
