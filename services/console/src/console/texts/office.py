"""German texts of the console's office pages: cases and audit."""

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
    # Cases
    "No such case": "Kein solcher Vorgang",
    "There is no case with this correlation id, or it is not one of the cases you may see:": (
        "Es gibt keinen Vorgang mit dieser Korrelations-ID, oder Sie dürfen ihn nicht sehen:"
    ),
    "Events appear on the timeline about a second after they happened; if the case was just "
    "started, try again in a moment.": (
        "Ereignisse erscheinen etwa eine Sekunde nach ihrem Eintreten auf der Zeitleiste; wurde "
        "der Vorgang gerade erst begonnen, versuchen Sie es gleich noch einmal."
    ),
    "Open a case": "Vorgang öffnen",
    "A case is everything that followed from one request, across every service. Its "
    "correlation id is the request id (X-Request-Id) of the request that started it.": (
        "Ein Vorgang ist alles, was aus einer Anfrage folgte, über alle Dienste hinweg. Seine "
        "Korrelations-ID ist die Anfrage-ID (X-Request-Id) der Anfrage, die ihn begann."
    ),
    "Correlation id": "Korrelations-ID",
    "About this case": "Zu diesem Vorgang",
    "Started by": "Begonnen von",
    "Started at": "Begonnen am",
    "Timeline": "Zeitleiste",
    "Events of this case, oldest first": "Ereignisse dieses Vorgangs, älteste zuerst",
    "Time": "Zeit",
    "Service": "Dienst",
    "Event": "Ereignis",
    "Who": "Wer",
    "Summary": "Zusammenfassung",
    "Record": "Datensatz",
    "internal": "intern",
    "No further events.": "Keine weiteren Ereignisse.",
    "First page": "Erste Seite",
    "Internal events are the back office's own work; whoever sees only the cases they started "
    "does not see them.": (
        "Interne Ereignisse sind die eigene Arbeit des Back Office; wer nur die selbst "
        "begonnenen Vorgänge sieht, sieht sie nicht."
    ),
    "Open another case": "Anderen Vorgang öffnen",
    "The gateway's decision on the request that started it": (
        "Die Entscheidung des Gateways über die Anfrage, die ihn begann"
    ),
    "system": "System",
    "Journal entry": "Buchungssatz",
    "Ticket": "Ticket",
    "Limit": "Limit",
    # Audit
    "Every request the gateway answered, allowed or denied, newest first. Records appear "
    "about a second after the answer.": (
        "Jede Anfrage, die das Gateway beantwortet hat, erlaubt oder abgelehnt, neueste zuerst. "
        "Einträge erscheinen etwa eine Sekunde nach der Antwort."
    ),
    "Search decisions": "Entscheidungen suchen",
    "Outcome": "Ergebnis",
    "any": "alle",
    "allow": "erlaubt",
    "deny": "abgelehnt",
    "HTTP status": "HTTP-Status",
    "Path starts with": "Pfad beginnt mit",
    "Request id": "Anfrage-ID",
    "From (inclusive)": "Von (einschließlich)",
    "Until (exclusive)": "Bis (ausschließlich)",
    "Decisions": "Entscheidungen",
    "continued": "Fortsetzung",
    "Decisions of the gateway, newest first": "Entscheidungen des Gateways, neueste zuerst",
    "Request": "Anfrage",
    "Reason": "Grund",
    "No decision matches these filters.": "Keine Entscheidung passt zu diesen Filtern.",
    "user": "Person",
    "anonymous": "anonym",
}
