"""German texts of the console's risk pages."""

GERMAN: dict[str, str] = {}
