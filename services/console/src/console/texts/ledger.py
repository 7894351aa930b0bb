"""German texts of the console's ledger pages."""

GERMAN: dict[str, str] = {}
