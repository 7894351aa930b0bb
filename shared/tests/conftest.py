"""The kernel's contract suite (``contract/kernel_contract.py``) is imported by a unit module
(in-memory backend) and an integration module (PostgreSQL), so its directory is importable."""

from __future__ import annotations

import sys
from pathlib import Path

CONTRACT = str(Path(__file__).parent / "contract")
if CONTRACT not in sys.path:
    sys.path.insert(0, CONTRACT)
