"""German texts of the console's admin pages."""

GERMAN: dict[str, str] = {
    "Administration": "Verwaltung",
    "Operators": "Bedienende",
    "Operator": "Bedienende Person",
    "Systems": "Systeme",
    "System": "System",
    "Systems and API keys": "Systeme und API-Schlüssel",
    "Register operator": "Person registrieren",
    "New operator": "Neue bedienende Person",
    "Register system": "System registrieren",
    "Name": "Name",
    "Display name": "Anzeigename",
    "Initial password": "Erstes Passwort",
    "Roles": "Rollen",
    "Role": "Rolle",
    "Office": "Bereich",
    "Version": "Version",
    "enabled": "aktiv",
    "disabled": "gesperrt",
    "No operators.": "Keine bedienenden Personen.",
    "No systems.": "Keine Systeme.",
    "All operators": "Alle bedienenden Personen",
    "All systems": "Alle Systeme",
    "Roles of this operator": "Rollen dieser Person",
    "Roles of one office only; admin and auditor alone.": (
        "Nur Rollen eines Bereichs; admin und auditor nur allein."
    ),
    "This is you: another administrator must change your own roles or disable you.": (
        "Das sind Sie: Ihre eigenen Rollen ändern oder Sie sperren muss eine andere "
        "Administratorin oder ein anderer Administrator."
    ),
    "Revoke": "Entziehen",
    "The last role cannot be revoked; disable the operator instead.": (
        "Die letzte Rolle kann nicht entzogen werden; sperren Sie stattdessen die Person."
    ),
    "Revoke this role?": "Diese Rolle entziehen?",
    "Grant a role": "Rolle vergeben",
    "Grant role": "Rolle vergeben",
    "choose a role": "Rolle wählen",
    "Disable operator": "Person sperren",
    "Disable this operator?": "Diese Person sperren?",
    "A disabled operator can no longer log in, and tokens issued before stop working.": (
        "Eine gesperrte Person kann sich nicht mehr anmelden, und zuvor ausgegebene Token "
        "gelten nicht mehr."
    ),
    "Missing input": "Angaben fehlen",
    "Please fill in:": "Bitte ausfüllen:",
    "Please choose a role.": "Bitte wählen Sie eine Rolle.",
    "Why: segregation of duties": "Warum: Funktionstrennung",
    "The front office (trading, customer service) starts business; the back office "
    "(accounting, risk, IT, control) checks, approves and books it. Whoever held roles of both "
    "could submit a deal and then approve or book it alone, so nobody holds front-office and "
    "back-office roles together.": (
        "Das Front Office (Handel, Kundenservice) schließt Geschäfte ab; das Back Office "
        "(Buchhaltung, Risiko, IT, Kontrolle) prüft, genehmigt und bucht sie. Wer Rollen aus "
        "beiden hätte, könnte ein Geschäft einreichen und es selbst genehmigen oder buchen; "
        "darum hat niemand Front-Office- und Back-Office-Rollen zugleich."
    ),
    "Administrators and auditors oversee both offices: whoever grants access or audits the "
    "books must not be one whose work is administered or audited. So admin and auditor are "
    "each held alone, without any other role.": (
        "Administration und Prüfung beaufsichtigen beide Bereiche: Wer Zugänge vergibt oder die "
        "Bücher prüft, darf nicht selbst verwaltet oder geprüft werden. Darum werden admin und "
        "auditor jeweils allein gehalten, ohne jede andere Rolle."
    ),
    "To change an operator's office, revoke the roles of the old office first, or give the "
    "work to another operator.": (
        "Um den Bereich einer Person zu wechseln, entziehen Sie zuerst die Rollen des alten "
        "Bereichs, oder geben Sie die Arbeit einer anderen Person."
    ),
    "Other programs that call the back office with an API key instead of a password.": (
        "Andere Programme, die das Backoffice mit einem API-Schlüssel statt eines Passworts "
        "aufrufen."
    ),
    "Active keys": "Aktive Schlüssel",
    "API keys": "API-Schlüssel",
    "API key": "API-Schlüssel",
    "API keys of this system": "API-Schlüssel dieses Systems",
    "Key id": "Schlüssel-ID",
    "Issued": "Ausgegeben",
    "Revoked": "Widerrufen",
    "active": "aktiv",
    "revoked": "widerrufen",
    "Revoke this API key? Calls with it are refused at once.": (
        "Diesen API-Schlüssel widerrufen? Aufrufe damit werden sofort abgelehnt."
    ),
    "This system has no API keys yet.": "Dieses System hat noch keine API-Schlüssel.",
    "Issue API key": "API-Schlüssel ausgeben",
    "The key's text is shown once, right after it is issued; the back office keeps only a "
    "hash of it.": (
        "Der Schlüssel wird genau einmal gezeigt, direkt nach der Ausgabe; das Backoffice "
        "speichert nur einen Hash davon."
    ),
    "New API key": "Neuer API-Schlüssel",
    "New API key for": "Neuer API-Schlüssel für",
    "Copy this key now": "Kopieren Sie diesen Schlüssel jetzt",
    "This is the only time the key is shown.": "Der Schlüssel wird nur dieses eine Mal gezeigt.",
    "The back office keeps only a hash of it: once you leave this page it cannot be shown "
    "again. If it is lost, revoke it and issue a new one.": (
        "Das Backoffice speichert nur einen Hash: Nach dem Verlassen dieser Seite kann er nicht "
        "mehr gezeigt werden. Geht er verloren, widerrufen Sie ihn und geben Sie einen neuen aus."
    ),
    "Give it to the system's operators over a safe channel; never by e-mail or chat.": (
        "Übergeben Sie ihn den Betreuern des Systems über einen sicheren Weg, nie per E-Mail "
        "oder Chat."
    ),
    "Done: back to the system's keys": "Fertig: zurück zu den Schlüsseln des Systems",
}
