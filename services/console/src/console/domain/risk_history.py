"""A risk's assessments, read from its history: every event that changed the rating
(identified, reassessed, a control added, changed or removed) carries the assessment it led
to, so the history is also the list of assessments, newest first."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AssessmentRecord:
    recorded_at: str
    actor: str
    event_type: str
    inherent: Mapping[str, Any]
    residual: Mapping[str, Any]
    reason: str
    correlation_id: str


def assessments_of(events: Sequence[Mapping[str, Any]]) -> list[AssessmentRecord]:
    found = []
    for event in events:
        data = event.get("data") or {}
        assessment = data.get("assessment")
        if not isinstance(assessment, Mapping):
            continue
        found.append(
            AssessmentRecord(
                recorded_at=str(event.get("recorded_at", "")),
                actor=str(event.get("actor", "")),
                event_type=str(event.get("event_type", "")),
                inherent=assessment.get("inherent") or {},
                residual=assessment.get("residual") or {},
                reason=str(data.get("reason") or ""),
                correlation_id=str(event.get("correlation_id", "")),
            )
        )
    return list(reversed(found))


def event_words(event_type: str) -> str:
    """The words of an event type, "risk.RiskControlAdded" -> "Risk control added" (the
    stream's prefix says nothing a reader of the risk's own page needs)."""
    words: list[str] = []
    for char in event_type.rsplit(".", 1)[-1]:
        if char.isupper() and words:
            words.append(" " + char.lower())
        else:
            words.append(char)
    return "".join(words)
