"""Narrowing the journal by account and text (the API filters it by period only)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def entry_matches(entry: Mapping[str, Any], account: str | None, text: str) -> bool:
    """Whether a journal entry (as the API answers it) books on ``account`` (when given) and
    contains ``text`` (when given, ignoring case) in its voucher, text, source document,
    metadata or account codes."""
    text = text.strip().casefold()
    if account and not any(line["account_id"] == account for line in entry["lines"]):
        return False
    if not text:
        return True
    searched = " ".join(
        [
            entry["voucher_number"],
            entry["text"],
            entry.get("source_document") or "",
            *entry.get("metadata", {}).values(),
            *(line["account_code"] for line in entry["lines"]),
        ]
    )
    return text in searched.casefold()
