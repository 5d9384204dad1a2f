"""Contact exports (Outlook, Google, vCard, People API): their columns and labels as fields.

Outlook writes one header set per UI language. `OUTLOOK` lists every English column we
map, with its spellings in German (from real exports), French and Spanish (the spellings
Roundcube's Outlook importer recognises), and Norwegian, Swedish, Danish and Dutch.
Headers are compared with `header_key` (case, spaces and punctuation ignored), so
"Postnummer (arbeid)" and "Postnummer, arbeid" are one spelling; a trailing number
("Business Phone 2", "Telefon (privat 2)") is found by its unnumbered spelling.

A field's address block ("business", "home", "other") keeps an address together: a
person's address comes from the first block that has any part filled.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from contracts.fields import header_key

# English header: (field, address block or None, spellings in other languages)
OUTLOOK: dict[str, tuple[str, str | None, tuple[str, ...]]] = {
    "Title": ("person_title", None, (
        "Anrede", "Titre", "Tratamiento", "Tittel", "Titel", "Aanhef")),
    "First Name": ("person_first_name", None, (
        "Vorname", "Prénom", "Nombre", "Fornavn", "Förnamn", "Voornaam")),
    "Middle Name": ("person_middle_name", None, (
        "Weitere Vornamen", "Deuxième prénom", "Segundo nombre", "Mellomnavn", "Mellannamn",
        "Mellemnavn", "Middelste naam", "Tweede voornaam")),
    "Last Name": ("person_last_name", None, (
        "Nachname", "Nom", "Apellidos", "Etternavn", "Efternamn", "Efternavn", "Achternaam")),
    "Name": ("person_full_name", None, ()),  # Outlook-style files written by other tools
    "Company": ("company_name", None, (
        "Firma", "Société", "Organización", "Compañía", "Organisation", "Företag", "Bedrijf")),
    "Department": ("company_department", None, (
        "Abteilung", "Service", "Departamento", "Avdeling", "Avdelning", "Afdeling")),
    "Job Title": ("person_position", None, (
        "Position", "Fonction", "Profession", "Puesto", "Cargo", "Stilling", "Befattning",
        "Stillingsbetegnelse", "Functie")),
    # --- addresses: the business address is the company's ---------------------------------
    "Business Street": ("company_street", "business", (
        "Straße geschäftlich", "Rue (bureau)", "Calle del trabajo", "Dirección de trabajo",
        "Gateadresse (arbeid)", "Adresse (arbeid)", "Gatuadress (arbete)", "Adress (arbete)",
        "Adresse (arbejde)", "Gade (arbejde)", "Werkadres, straat", "Straat (werk)")),
    "Business Address": ("company_street", "business", ("Adresse professionnelle",)),
    "Business City": ("company_city", "business", (
        "Ort geschäftlich", "Ville (bureau)", "Ciudad de trabajo", "Poststed (arbeid)",
        "Sted (arbeid)", "Postort (arbete)", "Ort (arbete)", "By (arbejde)",
        "Werkadres, plaats", "Plaats (werk)")),
    "Business Postal Code": ("company_postcode", "business", (
        "Postleitzahl geschäftlich", "Code postal (bureau)", "Código postal del trabajo",
        "Postnummer (arbeid)", "Postnummer (arbete)", "Postnummer (arbejde)",
        "Werkadres, postcode", "Postcode (werk)")),
    "Business Country/Region": ("company_country", "business", (
        "Business Country", "Land/Region geschäftlich", "Pays/Région (bureau)",
        "País o región del trabajo", "Land (arbeid)", "Land/region (arbeid)", "Land (arbete)",
        "Land/region (arbete)", "Land (arbejde)", "Land/område (arbejde)",
        "Werkadres, land/regio", "Land/regio (werk)")),
    "Home Street": ("person_street", "home", (
        "Straße privat", "Rue (domicile)", "Calle del domicilio", "Dirección personal",
        "Gateadresse (privat)", "Adresse (privat)", "Gatuadress (hem)", "Adress (hem)",
        "Gade (privat)", "Huisadres, straat", "Straat (thuis)")),
    "Home Address": ("person_street", "home", ()),
    "Home City": ("person_city", "home", (
        "Ort privat", "Ville (domicile)", "Ciudad de residencia", "Poststed (privat)",
        "Sted (privat)", "Postort (hem)", "Ort (hem)", "By (privat)", "Huisadres, plaats",
        "Plaats (thuis)")),
    "Home Postal Code": ("person_postcode", "home", (
        "Postleitzahl privat", "Code postal (domicile)", "Código postal del domicilio",
        "Postnummer (privat)", "Postnummer (hem)", "Huisadres, postcode", "Postcode (thuis)")),
    "Home Country/Region": ("person_country", "home", (
        "Home Country", "Land/Region privat", "Pays/Région (domicile)",
        "País o región del domicilio", "Land (privat)", "Land/region (privat)", "Land (hem)",
        "Land/region (hem)", "Land/område (privat)", "Huisadres, land/regio",
        "Land/regio (thuis)")),
    "Other Street": ("person_street", "other", (
        "Weitere Straße", "Rue (autre)", "Otra calle", "Gateadresse (annen)",
        "Adresse (annen)", "Gatuadress (annan)", "Adress (annan)", "Adresse (anden)",
        "Gade (anden)", "Ander adres, straat", "Straat (overig)")),
    "Other Address": ("person_street", "other", ()),
    "Other City": ("person_city", "other", (
        "Weiterer Ort", "Ville (autre)", "Otra ciudad", "Poststed (annen)", "Sted (annen)",
        "Postort (annan)", "Ort (annan)", "By (anden)", "Ander adres, plaats",
        "Plaats (overig)")),
    "Other Postal Code": ("person_postcode", "other", (
        "Weitere Postleitzahl", "Code postal (autre)", "Otro código postal",
        "Postnummer (annen)", "Postnummer (annan)", "Postnummer (anden)",
        "Ander adres, postcode", "Postcode (overig)")),
    "Other Country/Region": ("person_country", "other", (
        "Other Country", "Weiteres/e Land/Region", "Pays/Région (autre)", "Otro país o región",
        "Land (annen)", "Land/region (annen)", "Land (annan)", "Land/region (annan)",
        "Land (anden)", "Ander adres, land/regio", "Land/regio (overig)")),
    # --- phones, by kind -------------------------------------------------------------------
    "Business Phone": ("person_phone", None, (
        "Telefon geschäftlich", "Téléphone (bureau)", "Téléphone 2 (bureau)",
        "Teléfono del trabajo", "Telefon (arbeid)", "Telefon (arbete)", "Telefon (arbejde)",
        "Telefoon op werk", "Telefoon (werk)")),
    "Primary Phone": ("person_phone", None, (
        "Haupttelefon", "Téléphone principal", "Teléfono principal", "Hovedtelefon",
        "Primær telefon", "Huvudtelefon", "Hoofdtelefoon")),
    "Company Main Phone": ("company_phone", None, (
        "Telefon Firma", "Téléphone société", "Teléfono de la compañía", "Firmatelefon",
        "Sentralbord", "Företagets växel", "Växel", "Hoofdtelefoon bedrijf")),
    "Business Fax": ("company_fax", None, (
        "Fax geschäftlich", "Télécopie (bureau)", "Fax del trabajo", "Faks (arbeid)",
        "Fax (arbete)", "Fax (arbejde)", "Fax op werk", "Fax (werk)")),
    "Mobile Phone": ("person_mobile", None, (
        "Mobiltelefon", "Tél. mobile", "Téléphone mobile", "Móvil", "Teléfono móvil",
        "Mobil", "Mobiele telefoon")),
    "Car Phone": ("person_mobile", None, (
        "Autotelefon", "Téléphone (voiture)", "Teléfono del automóvil", "Biltelefon",
        "Autotelefoon")),
    "Home Phone": ("person_home_phone", None, (
        "Telefon privat", "Telefon (privat)", "Téléphone (domicile)", "Téléphone 2 (domicile)",
        "Particular", "Telefon (hem)", "Telefoon thuis", "Telefoon (thuis)")),
    "Home Fax": ("person_fax", None, (
        "Fax privat", "Télécopie (domicile)", "Fax particular", "Faks (privat)", "Fax (hem)",
        "Fax (privat)", "Fax thuis", "Fax (thuis)")),
    "Other Fax": ("person_fax", None, (
        "Weiteres Fax", "Télécopie (autre)", "Otro fax", "Annen faks", "Annan fax",
        "Anden fax", "Andere fax")),
    "Pager": ("person_pager", None, (
        "Récepteur de radiomessagerie", "Localizador", "Buscapersonas", "Personsøker",
        "Personsökare", "Personsøger", "Pieper")),
    "Other Phone": ("person_other_phone", None, (
        "Weiteres Telefon", "Téléphone (autre)", "Otro teléfono", "Annen telefon",
        "Annan telefon", "Anden telefon", "Andere telefoon")),
    "Assistant's Phone": ("person_other_phone", None, (
        "Telefon Assistent", "Téléphone de l'assistant(e)", "Teléfono del ayudante")),
    "Callback": ("person_other_phone", None, ("Rückmeldung", "Rappel", "Devolución de llamada")),
    "ISDN": ("person_other_phone", None, ("RNIS", "RDSI")),
    "Radio Phone": ("person_other_phone", None, ("Funktelefon", "Radiotéléphone", "Radioteléfono")),
    "TTY/TDD Phone": ("person_other_phone", None, (
        "Telefon für Hörbehinderte", "Téléphone TDD/TTY", "Teléfono TTY/TDD")),
    "Telex": ("person_other_phone", None, ("Télex",)),
    # --- e-mail, web, the rest -------------------------------------------------------------
    "E-mail Address": ("person_email", None, (
        "E-Mail-Adresse", "E-Mail 2: Adresse", "E-Mail 3: Adresse", "Adresse de messagerie",
        "Dirección de correo electrónico", "Dirección del correo electrónico",
        "E-postadresse", "E-post 2-adresse", "E-post 3-adresse", "E-postadress",
        "E-post 2, adress", "E-mail-adresse", "E-mail 2-adresse", "Mailadresse",
        "E-mailadres", "E-mail 2-adres", "E-mail 3-adres")),
    "Web Page": ("company_url", None, (
        "Webseite", "Page Web", "Página web", "Webside", "Webbsida", "Webpagina")),
    "Birthday": ("person_birth_date", None, (
        "Geburtstag", "Anniversaire", "Cumpleaños", "Fødselsdag", "Födelsedag", "Verjaardag")),
    "Categories": ("person_interest", None, (
        "Kategorien", "Catégories", "Categorías", "Kategorier", "Categorieën")),
    "Notes": ("person_notes", None, (
        "Notizen", "Notas", "Notater", "Anteckningar", "Noter", "Notities")),
}

# Outlook columns deliberately not imported (the CRM has no place for them). Listed so that
# they are reported as unmapped instead of being mistaken for a generic header ("Account"
# is not the company, German "Ort" is the office location, not the city).
OUTLOOK_LEFT_OUT = (
    "Suffix", "Business State", "Home State", "Other State", "Business PO Box", "Home PO Box",
    "Other PO Box", "PO Box", "Account", "Anniversary", "Assistant's Name",
    "Billing Information", "Children", "Directory Server", "E-mail Type",
    "E-mail Display Name", "E-mail 2 Type", "E-mail 2 Display Name", "E-mail 3 Type",
    "E-mail 3 Display Name", "Gender", "Government ID Number", "Hobby", "Initials",
    "Internet Free Busy", "Keywords", "Language", "Location", "Manager's Name", "Mileage",
    "Office Location", "Organizational ID Number", "Priority", "Private", "Profession",
    "Referred By", "Sensitivity", "Spouse", "User 1", "User 2", "User 3", "User 4",
    # German
    "Region geschäftlich", "Bundesland/Kanton privat", "Weiteres/r Bundesland/Kanton",
    "Postfach geschäftlich", "Postfach privat", "Weiteres Postfach", "Konto", "Jahrestag",
    "Name Assistent", "Assistent(in)", "Abrechnungsinformation", "Kinder", "Verzeichnisserver",
    "E-Mail-Typ", "E-Mail: Angezeigter Name", "E-Mail 2: Typ", "E-Mail 2: Angezeigter Name",
    "E-Mail 3: Typ", "E-Mail 3: Angezeigter Name", "Geschlecht", "Regierungsnr.", "Initialen",
    "Internet-Frei/Gebucht", "Internet Frei/Gebucht", "Stichwörter", "Sprache", "Ort",
    "Name des/der Vorgesetzten", "Name des/r Vorgesetzten", "Reisekilometer", "Büro",
    "Organisationsnr.", "Priorität", "Privat", "Beruf", "Empfohlen von", "Vertraulichkeit",
    "Partner", "Benutzer 1", "Benutzer 2", "Benutzer 3", "Benutzer 4", "Hobby",
    "Sozialversicherungsnr.",
)

# Google Contacts CSV columns that are not "<Kind> N - <part>" pairs (legacy and current).
GOOGLE_PLAIN: dict[str, str] = {
    "Name": "person_full_name", "Given Name": "person_first_name",
    "First Name": "person_first_name", "Additional Name": "person_middle_name",
    "Middle Name": "person_middle_name", "Family Name": "person_last_name",
    "Last Name": "person_last_name", "Name Prefix": "person_title", "Title": "person_title",
    "Birthday": "person_birth_date", "Notes": "person_notes",
    "Group Membership": "person_interest", "Labels": "person_interest",
    "Categories": "person_interest", "Organization Name": "company_name",
    "Company": "company_name", "Organization Title": "person_position",
    "Job Title": "person_position", "Organization Department": "company_department",
    "Department": "company_department", "Web Page": "company_url",
}
# Google's own groups every contact is in: not interests anybody chose
GOOGLE_SYSTEM_GROUPS = ("my contacts", "mycontacts", "starred", "blocked", "all")


def skeleton(header: str) -> str:
    """ASCII letters and digits only: what is left of a header whose accented letters were
    destroyed on the way (U+FFFD), so "Stra\ufffde gesch\ufffdftlich" still finds
    "Straße geschäftlich"."""
    text = unicodedata.normalize("NFKC", header).casefold()
    return re.sub(r"[^a-z0-9]+", "", text)


def _spellings() -> dict[str, tuple[str, str | None]]:
    table: dict[str, tuple[str, str | None]] = {}
    for english, (field, block, others) in OUTLOOK.items():
        for spelling in (english, *others):
            table.setdefault(header_key(spelling), (field, block))
    return table


OUTLOOK_KEYS = _spellings()
OUTLOOK_SKELETONS = {skeleton(s): OUTLOOK_KEYS[header_key(s)]
                     for e, (_, _, others) in OUTLOOK.items() for s in (e, *others)}
OUTLOOK_LEFT_OUT_KEYS = {header_key(h): ("", None) for h in OUTLOOK_LEFT_OUT}
OUTLOOK_LEFT_OUT_SKELETONS = {skeleton(h): ("", None) for h in OUTLOOK_LEFT_OUT}
GOOGLE_KEYS = {header_key(h): f for h, f in GOOGLE_PLAIN.items()}


def lookup(header: str, keys: dict, skeletons: dict | None = None) -> Any:
    """The table entry for a header: exact key, then without its number, then (for a
    header with destroyed letters) by skeleton."""
    key = header_key(header)
    for k in (key, re.sub(r"\d+", "", key)):
        if k in keys:
            return keys[k]
    if skeletons is not None and "\ufffd" in header:
        sk = skeleton(header)
        for k in (sk, re.sub(r"\d+", "", sk)):
            if k in skeletons:
                return skeletons[k]
    return None


# --- labels → fields (vCard TYPE/X-ABLabel, Google labels, People API types) -------------
# Checked in order on the lower-cased label text; the first pattern that matches wins.
PHONE_LABELS: tuple[tuple[str, str], ...] = (
    (r"fax", "fax"),  # work fax → the company's, other fax → the person's (see below)
    (r"cell|mobil|iphone|handy|car\b|\bauto", "person_mobile"),
    (r"pager|beeper", "person_pager"),
    (r"\bmain\b|company|switchboard|zentrale", "company_phone"),
    (r"home|privat|private|personal", "person_home_phone"),
    (r"other|isdn|callback|radio|telex|tty|tdd|assistant", "person_other_phone"),
)
WORK_LABEL = r"work|business|office|arbeid|arbete|arbejde|geschäft|bureau|trabajo|werk"
