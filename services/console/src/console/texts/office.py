"""German texts of the console's office pages."""

GERMAN: dict[str, str] = {
    # Team
    "The work waiting across ledger, tickets and risk, per person and per team.": (
        "Die wartende Arbeit in Hauptbuch, Tickets und Risiko, je Person und je Team."
    ),
    "Who has what": "Wer hat was",
    "Open work per person and team": "Offene Arbeit je Person und Team",
    "Person or team": "Person oder Team",
    "Approvals": "Freigaben",
    "Breaches": "Limitüberschreitungen",
    "Overdue reviews": "Überfällige Überprüfungen",
    "Total": "Summe",
    "Waiting since": "Wartet seit",
    "Waiting for": "Wartet auf",
    "Load": "Auslastung",
    "Overloaded": "Überlastet",
    "Overloaded: a person with more than {count} open tasks.": (
        "Überlastet: eine Person mit mehr als {count} offenen Aufgaben."
    ),
    "Nothing waits for the team.": "Nichts wartet auf das Team.",
    "Everything waiting, oldest first": "Alles Wartende, das Älteste zuerst",
    "Task": "Aufgabe",
    "Subject": "Betreff",
    "and {count} more, younger ones": "und {count} weitere, jüngere",
    "Not shown:": "Nicht angezeigt:",
    "Unassigned": "Nicht zugewiesen",
    "queue": "Queue",
    "team": "Team",
    "Accounting": "Buchhaltung",
    "Risk management": "Risikomanagement",
    "Booking request": "Buchungsantrag",
    "Booking requests": "Buchungsanträge",
    "Limit request": "Limitantrag",
    "Limit requests": "Limitanträge",
    "Risk acceptance": "Risikoakzeptanz",
    "Risk acceptances": "Risikoakzeptanzen",
    "Breach without measures": "Überschreitung ohne Maßnahmen",
    "Overdue risk review": "Überfällige Risikoüberprüfung",
    "Overdue risk action": "Überfällige Risikomaßnahme",
    "Overdue risk reviews": "Überfällige Risikoüberprüfungen",
}
