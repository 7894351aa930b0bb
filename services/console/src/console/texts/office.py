"""German texts of the console's office pages."""

GERMAN: dict[str, str] = {}
