"""Every text the console shows has its German words (English is the key)."""

from __future__ import annotations

import re
from pathlib import Path

import console
import pytest
from console.domain.navigation import SECTIONS
from console.texts import GERMAN

pytestmark = pytest.mark.unit

PACKAGE = Path(console.__file__).parent
# _("text") or _('text') in templates, and _("text") in Python (formats._, visit.formats._).
ASKED = re.compile(r"""\b_\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')\s*\)""")


def asked_texts() -> set[str]:
    texts: set[str] = set()
    for path in [*PACKAGE.rglob("*.html"), *PACKAGE.rglob("*.py")]:
        for match in ASKED.finditer(path.read_text()):
            texts.add(match.group(1) if match.group(1) is not None else match.group(2))
    return texts | {section.label for section in SECTIONS}


def test_every_text_asked_for_has_its_german_words() -> None:
    asked = asked_texts()
    assert len(asked) > 20, "the scan finds the console's texts"
    missing = sorted(text for text in asked if text not in GERMAN)
    assert not missing, missing
