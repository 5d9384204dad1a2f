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
    # --- Thunderbird's CSV export: the same kind of table, its own column names (from
    # Thunderbird's own test export, mozilla/releases-comm-central addrbook/test/unit/data)
    "Display Name": ("person_full_name", None, ()),
    "Primary Email": ("person_email", None, ()),
    "Secondary Email": ("person_email", None, ()),
    "Work Phone": ("person_phone", None, ()),
    "Fax Number": ("person_fax", None, ()),
    "Pager Number": ("person_pager", None, ()),
    "Mobile Number": ("person_mobile", None, ()),
    "Home ZipCode": ("person_postcode", "home", ()),
    "Work Address": ("company_street", "business", ()),
    "Work City": ("company_city", "business", ()),
    "Work ZipCode": ("company_postcode", "business", ()),
    "Work Country": ("company_country", "business", ()),
    "Organization": ("company_name", None, ()),
    "Web Page 1": ("company_url", None, ()),
    "Web Page 2": ("person_url", None, ()),
}

# Outlook (and Thunderbird) in more UI languages: English header → its spellings, per
# language, with where the spellings come from. Merged into the lookup with `OUTLOOK`.
LOCALIZED: dict[str, tuple[str, dict[str, tuple[str, ...]]]] = {
    "ja": ("a Japanese Outlook export (open-xchange appsuite-middleware testData/jpcontact.csv, "
           "fixtures/outlook/ox_jpcontact.csv)", {
        "Title": ("肩書き",), "First Name": ("名",), "Middle Name": ("ミドル ネーム",),
        "Last Name": ("姓",), "Company": ("会社名",), "Department": ("部署",),
        "Job Title": ("役職",),
        "Business Street": ("番地 (会社)", "住所 (会社)"), "Business City": ("市町村 (会社)",),
        "Business Postal Code": ("郵便番号 (会社)",),
        "Business Country/Region": ("国 (会社)/地域",),
        "Home Street": ("番地 (自宅)", "住所 (自宅)"), "Home City": ("市町村 (自宅)",),
        "Home Postal Code": ("郵便番号 (自宅)",), "Home Country/Region": ("国 (自宅)/地域",),
        "Other Street": ("番地 (その他)", "住所 (その他)"), "Other City": ("市町村 (その他)",),
        "Other Postal Code": ("郵便番号 (その他)",),
        "Other Country/Region": ("国 (その他)/地域",),
        "Assistant's Phone": ("秘書の電話",), "Business Fax": ("会社 FAX",),
        "Business Phone": ("会社電話",), "Callback": ("コールバック",),
        "Car Phone": ("自動車電話",), "Company Main Phone": ("会社代表電話",),
        "Home Fax": ("自宅 FAX",), "Home Phone": ("自宅電話",), "Mobile Phone": ("携帯電話",),
        "Other Fax": ("その他の FAX",), "Other Phone": ("その他の電話",),
        "Pager": ("ポケットベル",), "Primary Phone": ("通常の電話",),
        "Radio Phone": ("無線電話",), "Telex": ("テレックス",), "TTY/TDD Phone": ("TTY/TDD",),
        "Web Page": ("Web ページ",),
        "Notes": ("メモ",), "Categories": ("分類",), "Birthday": ("誕生日",),
        "E-mail Address": ("電子メール アドレス",)}),
    "it": ("Roundcube's Outlook/Thunderbird CSV import, program/localization/it_IT/"
           "csv2vcard.inc", {
        "Title": ("Titolo",), "First Name": ("Nome",), "Middle Name": ("Secondo Nome",),
        "Last Name": ("Cognome",), "Company": ("Società", "Organizzazione"),
        "Department": ("Reparto",), "Job Title": ("Qualifica",),
        "Business Street": ("Indirizzo di lavoro", "Indirizzo di lavoro 2"),
        "Business City": ("Città di lavoro",), "Business Postal Code": ("CAP di lavoro",),
        "Business Country/Region": ("Nazione/Regione di lavoro", "Nazione di lavoro"),
        "Home Street": ("Indirizzo di casa", "Indirizzo di casa 2"),
        "Home City": ("Città di residenza",),
        "Home Postal Code": ("CAP di casa", "CAP di residenza"),
        "Home Country/Region": ("Nazione/Regione di casa", "Nazione di residenza"),
        "Other Street": ("Via Altro",), "Other City": ("Città Altro",),
        "Other Postal Code": ("CAP Postale Altro",),
        "Other Country/Region": ("Nazione/Regione Altro",),
        "Assistant's Phone": ("Telefono dell'assistente",),
        "Business Fax": ("Fax di Lavoro",), "Business Phone": ("Telefono di Lavoro",),
        "Car Phone": ("Telefono dell'Auto",), "Home Fax": ("Fax di casa",),
        "Home Phone": ("Telefono di casa",), "Mobile Phone": ("Telefono Mobile",),
        "Other Fax": ("Fax Altro",), "Other Phone": ("Phone Altro",),
        "Pager": ("Numero cercapersone",), "Primary Phone": ("Telefono Principale",),
        "Web Page": ("Pagina Web",), "Notes": ("Note",), "Categories": ("Categorie",),
        "Birthday": ("Compleanno",), "E-mail Address": ("Indirizzo E-mail",),
        "Display Name": ("Nome visualizzato",), "Primary Email": ("Email principale",),
        "Secondary Email": ("Email secondaria",), "Work Phone": ("Telefono lavoro",),
        "Fax Number": ("Numero fax",), "Pager Number": ("Numero Pager",),
        "Mobile Number": ("Numero cellulare",), "Web Page 1": ("Pagina web 1",),
        "Web Page 2": ("Pagina web 2",)}),
    "pt": ("Roundcube's Outlook/Thunderbird CSV import, program/localization/pt_BR/"
           "csv2vcard.inc (Brazilian Portuguese)", {
        "Title": ("Título",), "First Name": ("Primeiro nome",),
        "Middle Name": ("Nome do meio",), "Last Name": ("Último nome",),
        "Company": ("Empresa", "Organização"), "Department": ("Departamento",),
        "Job Title": ("Cargo",), "Business Street": ("Rua comercial", "Endereço de trabalho"),
        "Business City": ("Cidade comercial", "Cidade de trabalho"),
        "Business Postal Code": ("Código postal comercial", "CEP de trabalho"),
        "Business Country/Region": ("Região/País comercial", "País de trabalho"),
        "Home Street": ("Rua de casa", "Endereço de casa"), "Home City": ("Cidade de casa",),
        "Home Postal Code": ("Código Postal de casa", "CEP de casa"),
        "Home Country/Region": ("Região/País de casa", "País de casa"),
        "Other Street": ("Outra Rua",), "Other City": ("Outra cidade",),
        "Other Postal Code": ("Outro Código Postal",),
        "Other Country/Region": ("Outro País/Região",),
        "Assistant's Phone": ("Fone do Assistente",), "Business Fax": ("Fax comercial",),
        "Business Phone": ("Fone comercial", "Fone de trabalho"),
        "Car Phone": ("Fone do carro",), "Home Fax": ("Fax de casa",),
        "Home Phone": ("Fone de casa",), "Mobile Phone": ("Celular",),
        "Other Fax": ("Outro Fax",), "Other Phone": ("Outro Fone",),
        "Primary Phone": ("Fone Primario",), "Web Page": ("Página Web",),
        "Notes": ("Notas",), "Categories": ("Categorias",), "Birthday": ("Aniversário",),
        "E-mail Address": ("Endereço de E-mail",), "Display Name": ("Mostrar nome",),
        "Primary Email": ("E-mail primário",), "Secondary Email": ("E-mail secundário",),
        "Fax Number": ("Número de Fax",), "Pager Number": ("Número do Pager",)}),
    "pl": ("Roundcube's Outlook CSV import, program/localization/pl_PL/csv2vcard.inc", {
        "Title": ("Tytuł",), "First Name": ("Imię",), "Middle Name": ("Drugie imię",),
        "Last Name": ("Nazwisko",), "Company": ("Firma",), "Department": ("Oddział",),
        "Job Title": ("Stanowisko",), "Business Street": ("Ulica (biuro)",),
        "Business City": ("Miasto (biuro)",), "Business Postal Code": ("Kod pocztowy (biuro)",),
        "Business Country/Region": ("Kraj/region (biuro)",), "Home Street": ("Ulica (dom)",),
        "Home City": ("Miasto (dom)",), "Home Postal Code": ("Kod pocztowy (dom)",),
        "Home Country/Region": ("Kraj/region (dom)",),
        "Assistant's Phone": ("Telefon asystenta",), "Business Fax": ("Faks służbowy",),
        "Business Phone": ("Telefon służbowy",), "Home Fax": ("Faks domowy",),
        "Home Phone": ("Telefon domowy",), "Mobile Phone": ("Telefon komórkowy",),
        "Primary Phone": ("Telefon główny",), "Web Page": ("Osobista strona sieci Web",),
        "Notes": ("Notatki",), "Categories": ("Kategorie",), "Birthday": ("Urodziny",),
        "E-mail Address": ("Adres e-mail",)}),
    "fi": ("Roundcube's Outlook/Thunderbird CSV import, program/localization/fi_FI/"
           "csv2vcard.inc", {
        "First Name": ("Etunimi",), "Last Name": ("Sukunimi",),
        "Job Title": ("Ammattinimi",), "Department": ("Osasto",),
        "Home Phone": ("Kotipuhelin",), "Home City": ("Kotikaupunki",),
        "Business City": ("Työpaikan kaupunki",), "Notes": ("Muistiinpanot",),
        "Display Name": ("Näyttönimi", "Näytettävä nimi"), "Fax Number": ("Faksin numero",),
        "Primary Email": ("Ensisijainen sähköposti",),
        "Secondary Email": ("Toissijainen sähköposti",), "Work Phone": ("Työpuhelin",),
        "Pager Number": ("Hakulaitteen numero",), "Mobile Number": ("Matkapuhelinnumero",),
        "Home Address": ("Kotiosoite",), "Home ZipCode": ("Kodin postinumero",),
        "Home Country/Region": ("Kotimaa",), "Work Address": ("Työosoite",),
        "Work ZipCode": ("Työpaikan postinumero",), "Work Country": ("Työpaikan maa",),
        "Organization": ("Järjestö",), "Web Page 1": ("Verkkosivu 1",),
        "Web Page 2": ("Verkkosivu 2",)}),
    "fr": ("Roundcube's Outlook/Thunderbird CSV import, program/localization/fr_FR/"
           "csv2vcard.inc (beside the French spellings in OUTLOOK)", {
        "Business Phone": ("Tél. professionnel",), "Mobile Phone": ("Portable",),
        "Home Street": ("Adresse privée",), "Display Name": ("Nom à afficher",),
        "Primary Email": ("Adresse électronique principale",),
        "Secondary Email": ("Adresse électronique secondaire",),
        "Web Page 1": ("Site Web 1",), "Web Page 2": ("Site Web 2",)}),
}

# Thunderbird writes a birthday as three columns: read together as one date
BIRTH_PARTS = ("Birth Year", "Birth Month", "Birth Day")

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
    # Thunderbird
    "Nickname", "Screen Name", "Home State", "Work State", "Custom 1", "Custom 2", "Custom 3",
    "Custom 4",
    # Japanese (ox_jpcontact.csv)
    "敬称", "都道府県 (会社)", "都道府県 (自宅)", "都道府県 (その他)",
    "ID 番号", "アカウント", "イニシャル", "インターネット空き時間情報", "キーワード",
    "その他住所私書箱", "ディレクトリ サーバー", "プライベート", "マネージャー", "ユーザー 1",
    "事業所", "会社 ID", "会社住所私書箱", "会社名フリガナ", "優先度", "参照事項",
    "名前フリガナ", "場所", "姓フリガナ", "子供", "性別", "支払い条件", "秘密度", "秘書の氏名",
    "経費情報", "職業", "自宅住所私書箱", "言語", "記念日", "趣味", "配偶者", "電子メールの種類",
    "電子メール表示名", "電子メール 2 の種類", "電子メール 2 表示名",
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


def _all_spellings() -> dict[str, tuple[str, ...]]:
    """English header → every spelling of it (OUTLOOK's, then each LOCALIZED language's)."""
    out = {english: (english, *others) for english, (_, _, others) in OUTLOOK.items()}
    for _, table in LOCALIZED.values():
        for english, spellings in table.items():
            out[english] = (*out[english], *spellings)
    return out


def _spellings() -> dict[str, tuple[str, str | None]]:
    table: dict[str, tuple[str, str | None]] = {}
    for english, spellings in _all_spellings().items():
        field, block, _ = OUTLOOK[english]
        for spelling in spellings:
            table.setdefault(header_key(spelling), (field, block))
    return table


OUTLOOK_KEYS = _spellings()
OUTLOOK_SKELETONS = {skeleton(s): OUTLOOK_KEYS[header_key(s)]
                     for spellings in _all_spellings().values() for s in spellings}
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
