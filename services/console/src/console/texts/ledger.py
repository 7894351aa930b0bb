"""German texts of the console's ledger pages."""

GERMAN: dict[str, str] = {
    # Tabs and headings
    "Ledger pages": "Seiten des Hauptbuchs",
    "Chart of accounts": "Kontenplan",
    "Journal": "Journal",
    "Post an entry": "Buchung erfassen",
    "Booking requests": "Buchungsanträge",
    "Booking request": "Buchungsantrag",
    "New booking request": "Neuer Buchungsantrag",
    "Trial balance": "Summen- und Saldenliste",
    "Balance sheet": "Bilanz",
    "Profit and loss": "Gewinn- und Verlustrechnung",
    "Periods": "Perioden",
    "Verification": "Prüfung",
    "Verification of the hash chain": "Prüfung der Hash-Kette",
    "Accounts and their balances": "Konten und ihre Salden",
    "Accounting periods": "Buchungsperioden",
    "Journal entries": "Journalbuchungen",
    "Statement": "Kontoauszug",
    "Lines": "Buchungszeilen",
    "History": "Verlauf",
    "Hash chain": "Hash-Kette",
    "Decision": "Entscheidung",
    # Columns and facts
    "Account": "Konto",
    "Accounts": "Konten",
    "Name": "Bezeichnung",
    "Type": "Art",
    "Balance": "Saldo",
    "Reserved": "Vorgemerkt",
    "Available": "Verfügbar",
    "Currency": "Währung",
    "Opened": "Eröffnet",
    "Closed": "Abgeschlossen",
    "From": "Von",
    "To": "Bis",
    "Show": "Anzeigen",
    "Opening balance": "Anfangssaldo",
    "Closing balance": "Endsaldo",
    "Booking date": "Buchungsdatum",
    "Voucher date": "Belegdatum",
    "Voucher number": "Belegnummer",
    "Booking text": "Buchungstext",
    "Source document": "Quelldokument",
    "Debit": "Soll",
    "Credit": "Haben",
    "Debits": "Soll-Summe",
    "Credits": "Haben-Summe",
    "Amount": "Betrag",
    "Side": "Seite",
    "Period": "Periode",
    "period": "Periode",
    "Entries": "Buchungen",
    "Entry": "Buchung",
    "Entry id": "Buchungs-ID",
    "Batch": "Stapel",
    "Version": "Version",
    "Position in the journal": "Position im Journal",
    "Recorded by": "Erfasst von",
    "Approved by": "Freigegeben von",
    "Requested as": "Beantragt als",
    "booking request": "Buchungsantrag",
    "journal entry": "Journalbuchung",
    "Reverses": "Storniert",
    "Reversed by": "Storniert durch",
    "the original entry": "die ursprüngliche Buchung",
    "the reversing entry": "die Stornobuchung",
    "reversal": "Storno",
    "reversed": "storniert",
    "Posted as": "Gebucht als",
    "Expires": "Läuft ab",
    "Decided": "Entschieden",
    "Reason": "Begründung",
    "Counterparty": "Gegenpartei",
    "Desk": "Handelstisch",
    "counterparty": "Gegenpartei",
    "desk": "Handelstisch",
    "Total": "Summe",
    "Result": "Ergebnis",
    "Result to date": "Ergebnis bis heute",
    "Assets": "Aktiva",
    "Liabilities": "Verbindlichkeiten",
    "Equity": "Eigenkapital",
    "Liabilities and equity": "Passiva (Verbindlichkeiten und Eigenkapital)",
    "Revenue": "Erträge",
    "Expenses": "Aufwendungen",
    "As of": "Stichtag",
    "current": "laufend",
    "open": "offen",
    "closed": "abgeschlossen",
    "balanced": "ausgeglichen",
    "not balanced": "nicht ausgeglichen",
    "any": "alle",
    "not required": "nicht erforderlich",
    "all accounts": "alle Konten",
    # Account types and sides (values of the API)
    "asset": "Aktivkonto",
    "liability": "Passivkonto",
    "equity": "Eigenkapital",
    "revenue": "Ertrag",
    "expense": "Aufwand",
    "debit": "Soll",
    "credit": "Haben",
    # Request statuses
    "pending": "offen",
    "approved": "freigegeben",
    "rejected": "abgelehnt",
    "expired": "abgelaufen",
    # Filters
    "Filter the journal": "Journal filtern",
    "Filter the booking requests": "Buchungsanträge filtern",
    "Choose the period": "Periode wählen",
    "Choose the day": "Tag wählen",
    "Choose the days": "Zeitraum wählen",
    "voucher, text, counterparty": "Beleg, Text, Gegenpartei",
    "{found} of {looked} entries on this page match.": (
        "{found} von {looked} Buchungen dieser Seite passen."
    ),
    "Download CSV": "CSV herunterladen",
    # Empty states
    "No accounts yet.": "Noch keine Konten.",
    "No entries found.": "Keine Buchungen gefunden.",
    "No booking requests found.": "Keine Buchungsanträge gefunden.",
    "Nothing booked in this range.": "In diesem Zeitraum wurde nichts gebucht.",
    "Nothing booked in this period.": "In dieser Periode wurde nichts gebucht.",
    "Nothing booked up to this day.": "Bis zu diesem Tag wurde nichts gebucht.",
    "No revenue or expenses booked in these days.": (
        "In diesem Zeitraum wurden keine Erträge oder Aufwendungen gebucht."
    ),
    "No periods yet: a period appears with its first entry.": (
        "Noch keine Perioden: eine Periode erscheint mit ihrer ersten Buchung."
    ),
    # The entry form and its lines editor
    "Voucher date (optional)": "Belegdatum (optional)",
    "Source document (optional)": "Quelldokument (optional)",
    "Deal (optional)": "Geschäft (optional)",
    "Account, line": "Konto, Zeile",
    "Side, line": "Seite, Zeile",
    "Amount, line": "Betrag, Zeile",
    "Currency, line": "Währung, Zeile",
    "account id": "Konto-ID",
    "choose an account": "Konto wählen",
    "Add a line": "Zeile hinzufügen",
    "Amounts as you write them, for example {example}.": (
        "Beträge so, wie Sie sie schreiben, zum Beispiel {example}."
    ),
    "Post": "Buchen",
    "Submit for approval": "Zur Freigabe einreichen",
    "Balanced.": "Ausgeglichen.",
    "Not balanced yet: debits and credits must be equal in every currency.": (
        "Noch nicht ausgeglichen: Soll und Haben müssen in jeder Währung gleich sein."
    ),
    "debits": "Soll",
    "credits": "Haben",
    "difference": "Differenz",
    "The entry was not sent.": "Die Buchung wurde nicht gesendet.",
    "A voucher number is required.": "Eine Belegnummer ist erforderlich.",
    "A booking text is required.": "Ein Buchungstext ist erforderlich.",
    "A booking date is required.": "Ein Buchungsdatum ist erforderlich.",
    "Dates are written YYYY-MM-DD.": "Datumsangaben werden JJJJ-MM-TT geschrieben.",
    "An entry needs at least two lines.": "Eine Buchung braucht mindestens zwei Zeilen.",
    "The entry is not balanced: debits and credits differ by {amount}.": (
        "Die Buchung ist nicht ausgeglichen: Soll und Haben unterscheiden sich um {amount}."
    ),
    "Line {row}: choose an account.": "Zeile {row}: Wählen Sie ein Konto.",
    "Line {row}: choose debit or credit.": "Zeile {row}: Wählen Sie Soll oder Haben.",
    "Line {row}: choose a currency.": "Zeile {row}: Wählen Sie eine Währung.",
    "Line {row}: an amount is required.": "Zeile {row}: Ein Betrag ist erforderlich.",
    "Line {row}: “{text}” is not an amount (write it like {example}).": (
        "Zeile {row}: „{text}“ ist kein Betrag (schreiben Sie ihn wie {example})."
    ),
    "A booking request is posted once a second person of the back office approves it. "
    "A deal (with a counterparty or a desk) needs risk's clearance first.": (
        "Ein Buchungsantrag wird gebucht, sobald eine zweite Person des Back Office ihn "
        "freigibt. Ein Geschäft (mit Gegenpartei oder Handelstisch) braucht zuerst die "
        "Freigabe des Risikomanagements."
    ),
    # Reversal
    "Reverse this entry": "Diese Buchung stornieren",
    "Reverse this entry?": "Diese Buchung stornieren?",
    "Reverse": "Stornieren",
    "A reversal posts a new entry with the lines mirrored; the original stays in the journal.": (
        "Ein Storno bucht eine neue Buchung mit gespiegelten Zeilen; die ursprüngliche bleibt "
        "im Journal."
    ),
    "Booking date (optional; the original's if empty)": (
        "Buchungsdatum (optional; leer: das der ursprünglichen Buchung)"
    ),
    "A reason is required to reverse an entry.": "Für ein Storno ist eine Begründung nötig.",
    # Booking request detail
    "Not a deal (no counterparty, no desk): risk need not clear it.": (
        "Kein Geschäft (keine Gegenpartei, kein Handelstisch): keine Risikofreigabe nötig."
    ),
    "Risk has not answered yet; the request cannot be approved before it does.": (
        "Das Risikomanagement hat noch nicht geantwortet; vorher kann der Antrag nicht "
        "freigegeben werden."
    ),
    "Risk cleared the deal.": "Das Risikomanagement hat das Geschäft freigegeben.",
    "Risk refused the deal.": "Das Risikomanagement hat das Geschäft abgelehnt.",
    "Over the limit by": "Über dem Limit um",
    "You submitted this request: a second person of the back office decides on it "
    "(four-eyes principle).": (
        "Sie haben diesen Antrag eingereicht: eine zweite Person des Back Office entscheidet "
        "darüber (Vier-Augen-Prinzip)."
    ),
    "Waiting for the back office's decision.": "Wartet auf die Entscheidung des Back Office.",
    "Approve and post": "Freigeben und buchen",
    "Reason for rejecting": "Begründung der Ablehnung",
    "Reject": "Ablehnen",
    "A reason is required to reject a request.": "Für eine Ablehnung ist eine Begründung nötig.",
    # Periods
    "I confirm": "Ich bestätige",
    "See the pending booking requests": "Offene Buchungsanträge ansehen",
    "Close period": "Periode abschließen",
    "Close period {period} for good? It cannot be reopened.": (
        "Periode {period} endgültig abschließen? Sie kann nicht wieder geöffnet werden."
    ),
    "Tick “I confirm” to close the period; it cannot be reopened.": (
        "Kreuzen Sie „Ich bestätige“ an, um die Periode abzuschließen; sie kann nicht wieder "
        "geöffnet werden."
    ),
    "Period {period} is closed.": "Periode {period} ist abgeschlossen.",
    # Verification
    "The journal's hash chain is intact.": "Die Hash-Kette des Journals ist intakt.",
    "The journal's hash chain does not match.": "Die Hash-Kette des Journals stimmt nicht.",
    "intact": "intakt",
    "broken": "gebrochen",
    "Events checked": "Geprüfte Ereignisse",
    "Time taken": "Dauer",
    "Detail": "Einzelheiten",
    "First mismatch": "Erste Abweichung",
    "What": "Was",
    "Event": "Ereignis",
    "Verify the hash chain": "Hash-Kette prüfen",
    "Each visit of this page recomputes the chain from the first event.": (
        "Jeder Aufruf dieser Seite berechnet die Kette ab dem ersten Ereignis neu."
    ),
}
