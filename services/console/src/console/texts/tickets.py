"""German texts of the console's tickets pages."""

GERMAN: dict[str, str] = {}
