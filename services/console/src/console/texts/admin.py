"""German texts of the console's admin pages."""

GERMAN: dict[str, str] = {}
