"""The canonical import fields: names, CRM columns, limits and header aliases.

A canonical column is `<entity>_<field>`; a multi-valued field may appear several times,
as `person_email`, `person_email_2`, … (one per mapped source column).
Aliases are compared after `header_key()`: case, spaces and punctuation ignored.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal, get_args

Entity = Literal["company", "person", "product"]
Multi = Literal["phone", "email", "url", "interest"]
VALUE_TABLES: tuple[Multi, ...] = get_args(Multi)  # the CRM tables of multi-valued fields


@dataclass(frozen=True)
class Field:
    name: str  # canonical column
    entity: Entity
    column: str | None  # CRM column it is stored in (None: multi-valued or virtual)
    max_len: int = 255
    multi: Multi | None = None
    kind: str | None = None  # phone kind for multi == "phone"
    list_name: str | None = None  # CRM list the value must belong to
    aliases: tuple[str, ...] = ()


def header_key(header: str) -> str:
    """Casefolded header with spaces and punctuation removed ("Company: Name" → "companyname")."""
    text = unicodedata.normalize("NFKC", header).casefold().replace("ß", "ss")
    return re.sub(r"[\W_]+", "", text)


_F = Field
FIELDS: tuple[Field, ...] = (
    # --- company -------------------------------------------------------------------------
    _F("company_name", "company", "name", 200, aliases=(
        "company", "companyname", "organization", "organisation", "organizationname",
        "organisationname", "organization1name", "firm", "firma", "firmanavn", "firmenname",
        "unternehmen", "foretak", "foretaksnavn", "bedrift", "bedriftsnavn", "selskap",
        "selskapsnavn", "företag", "företagsnamn", "foretag", "foretagsnamn", "virksomhed",
        "virksomhedsnavn", "account", "accountname", "customer", "customername", "kunde",
        "kundenavn", "kundnamn", "kundenname", "organisasjon", "organisasjonsnavn",
        "relatedcompany", "companyname1")),
    _F("company_department", "company", "department", 200, aliases=(
        "department", "companydepartment", "avdeling", "avdelning", "afdeling", "abteilung",
        "organization1department", "organizationdepartment", "division")),
    _F("company_number", "company", "number", 100, aliases=(
        "companynumber", "customernumber", "customerno", "customernr", "kundenummer", "kundenr",
        "kundnummer", "kundnr", "kundennummer", "kundennr", "firmanummer", "accountnumber",
        "companyno")),
    _F("company_code", "company", "code", 100, aliases=(
        "code", "companycode", "customercode", "kode", "kod", "kortnavn", "shortname",
        "kurzname", "kürzel", "kurzel")),
    _F("company_vat_number", "company", "vat_number", 50, aliases=(
        "vat", "vatnumber", "vatno", "vatnr", "vatid", "vatregistrationnumber", "taxid",
        "mva", "mvanummer", "mvanr", "momsnummer", "momsnr", "momsregistreringsnummer",
        "ustid", "ustidnr", "umsatzsteuerid", "umsatzsteueridentifikationsnummer")),
    _F("company_orgnr", "company", "orgnr", 50, aliases=(
        "orgnr", "orgno", "orgnumber", "organisasjonsnummer", "organizationnumber",
        "organisationnumber", "organisationsnummer", "cvr", "cvrnr", "cvrnummer",
        "registrationnumber", "companyregistrationnumber", "handelsregisternummer",
        "foretaksnummer", "företagsnummer")),
    _F("company_id", "company", None, 20, aliases=("companyid", "crmcompanyid")),
    # ERP imports: the actor's key in its ERP and the ERP's name (SPEC §5 "ERP actors")
    _F("company_erp_key", "company", "erp_key", 255, aliases=("companyerpkey",)),
    _F("company_erp_system", "company", "erp_system", 100, aliases=("companyerpsystem",)),
    # what kind of ERP actor the record is: "customers", "customers.contact" (issue 17 §7)
    _F("company_erp_entity", "company", "erp_entity", 100, aliases=("companyerpentity",)),
    _F("company_category", "company", "category", 100, list_name="category", aliases=(
        "category", "companycategory", "kategori", "kategorie", "customercategory")),
    _F("company_business", "company", "business", 100, list_name="business", aliases=(
        "business", "industry", "sector", "bransje", "bransch", "branche", "branch")),
    _F("company_street", "company", "street", 255, aliases=(
        "companystreet", "companyaddress", "businessstreet", "businessaddress",
        "visitingaddress", "besoksadresse", "besøksadresse", "gateadresse",
        "straßegeschaftlich", "strassegeschaftlich", "strassegeschäftlich", "geschäftsadresse",
        "companyaddressstreet")),
    _F("company_postcode", "company", "postcode", 20, aliases=(
        "companypostcode", "companyzip", "businesspostalcode", "businesszip",
        "postleitzahlgeschäftlich", "postleitzahlgeschaftlich")),
    _F("company_city", "company", "city", 100, aliases=(
        "companycity", "businesscity", "ortgeschäftlich", "ortgeschaftlich")),
    _F("company_country", "company", "country", 100, aliases=(
        "companycountry", "businesscountry", "businesscountryregion",
        "landregiongeschäftlich", "landregiongeschaftlich")),
    _F("company_notes", "company", "notes", 4000, aliases=("companynotes", "companycomment")),
    _F("company_phone", "company", None, 50, multi="phone", kind="phone", aliases=(
        "companyphone", "switchboard", "sentralbord", "växel", "vaxel", "zentrale",
        "companymainphone", "companytelephone", "hauptnummer")),
    _F("company_fax", "company", None, 50, multi="phone", kind="fax", aliases=(
        "companyfax", "businessfax", "faxgeschäftlich", "faxgeschaftlich")),
    _F("company_email", "company", None, 254, multi="email", aliases=("companyemail",)),
    _F("company_url", "company", None, 500, multi="url", aliases=(
        "companyurl", "companywebsite", "website", "webpage", "webside", "url", "homepage",
        "web", "hjemmeside", "nettside", "hemsida", "webbplats", "webseite", "internetseite",
        "webadresse", "webbadress")),
    # --- person --------------------------------------------------------------------------
    _F("person_first_name", "person", "first_name", 100, aliases=(
        "firstname", "givenname", "fornavn", "förnamn", "fornamn", "vorname", "personfirstname",
        "contactfirstname")),
    _F("person_middle_name", "person", "middle_name", 100, aliases=(
        "middlename", "additionalname", "mellomnavn", "mellannamn", "mellemnavn",
        "weiterevornamen", "zweitername", "personmiddlename")),
    _F("person_last_name", "person", "last_name", 100, aliases=(
        "lastname", "surname", "familyname", "etternavn", "efternamn", "efternavn",
        "nachname", "familienname", "personlastname", "contactlastname")),
    _F("person_full_name", "person", None, 300, aliases=(
        "name", "fullname", "contactname", "contact", "contactperson", "kontaktperson",
        "navn", "namn", "personname", "displayname", "personfullname", "kontakt",
        "fulltnavn", "fullständigtnamn", "vollständigername")),
    _F("person_title", "person", "title", 50, aliases=(
        "title", "salutation", "anrede", "tiltale", "personsalutation", "prefix")),
    _F("person_position", "person", "position", 100, list_name="position", aliases=(
        "position", "jobtitle", "stilling", "stillingstittel", "tittel", "befattning",
        "titel", "jobbtitel", "berufsbezeichnung", "organization1title", "organizationtitle",
        "role", "rolle", "roll", "personposition")),
    _F("person_number", "person", "number", 100, aliases=(
        "personnumber", "contactnumber", "employeenumber", "ansattnummer", "personnr")),
    _F("person_id", "person", None, 20, aliases=("personid", "contactid", "crmpersonid")),
    _F("person_erp_key", "person", "erp_key", 255, aliases=("personerpkey",)),
    _F("person_erp_system", "person", "erp_system", 100, aliases=("personerpsystem",)),
    _F("person_erp_entity", "person", "erp_entity", 100, aliases=("personerpentity",)),
    _F("person_birth_date", "person", "birth_date", 30, aliases=(
        "birthday", "birthdate", "dateofbirth", "fødselsdato", "fodselsdato",
        "födelsedatum", "fodelsedatum", "fødselsdag", "geburtstag", "geburtsdatum")),
    _F("person_street", "person", "street", 255, aliases=(
        "homestreet", "homeaddress", "privateaddress", "privatadresse", "hjemmeadresse",
        "hemadress", "privatanschrift", "straßeprivat", "strasseprivat", "personstreet")),
    _F("person_postcode", "person", "postcode", 20, aliases=(
        "homepostalcode", "homezip", "postleitzahlprivat", "personpostcode")),
    _F("person_city", "person", "city", 100, aliases=("homecity", "ortprivat", "personcity")),
    _F("person_country", "person", "country", 100, aliases=(
        "homecountry", "homecountryregion", "landregionprivat", "personcountry")),
    _F("person_notes", "person", "notes", 4000, aliases=("personnotes", "personcomment")),
    _F("person_phone", "person", None, 50, multi="phone", kind="phone", aliases=(
        "personphone", "directphone", "direktenummer", "direktnummer", "durchwahl",
        "workphone", "telefongeschäftlich", "telefongeschaftlich", "businessphone")),
    _F("person_home_phone", "person", None, 50, multi="phone", kind="home", aliases=(
        "homephone", "telefonprivat", "privatetelephone", "privatephone", "telefonhjem",
        "hjemmetelefon", "hemtelefon", "personhomephone")),
    _F("person_mobile", "person", None, 50, multi="phone", kind="mobile", aliases=(
        "mobile", "mobilephone", "mobilenumber", "cellphone", "cell", "mobil", "mobiltelefon",
        "mobilnummer", "mobiltlf", "handy", "personmobile", "mobilnr")),
    _F("person_fax", "person", None, 50, multi="phone", kind="fax", aliases=("personfax",)),
    _F("person_pager", "person", None, 50, multi="phone", kind="pager", aliases=(
        "pager", "personpager", "personsøker", "personsoker", "personsökare", "personsokare")),
    _F("person_other_phone", "person", None, 50, multi="phone", kind="other", aliases=(
        "otherphone", "personotherphone", "annentelefon", "annantelefon")),
    _F("person_email", "person", None, 254, multi="email", aliases=(
        # numbered variants ("E-mail 2 Address") are found by stripping the number
        "personemail", "emailaddress", "personemailaddress", "contactemail",
        "primaryemail", "secondaryemail")),  # (Thunderbird's)
    _F("person_url", "person", None, 500, multi="url", aliases=(
        "personurl", "personalwebpage", "personalwebsite")),
    _F("person_interest", "person", None, 100, multi="interest", list_name="interest",
       aliases=("interest", "interests", "interesse", "interesser", "intresse", "intressen",
                "interessen", "personinterest")),
)

# Products (SPEC §5 "Products"): one price list per import, prices as exact decimals.
PRODUCT_FIELDS: tuple[Field, ...] = (
    _F("product_in_assortment", "product", "in_assortment", 20, aliases=(
        "inassortment", "assortment", "active", "isactive", "aktiv", "isortiment", "sortiment",
        "available", "tilgjengelig", "imsortiment", "lagerfort")),
    _F("product_code", "product", "code", 100, aliases=(
        "code", "productcode", "productid", "productno", "productnumber", "itemno",
        "itemnumber", "itemcode", "sku", "artikkelnummer", "artikkelnr", "varenummer", "varenr",
        "produktkode", "produktnummer", "artikelnummer", "artnr", "internalreference",
        "reference", "artikelnr", "produktnr")),
    _F("product_name", "product", "name", 200, aliases=(
        "name", "productname", "produktnavn", "varenavn", "artikkelnavn", "produktnamn",
        "benamning", "benämning", "artikelname", "artikelbezeichnung", "bezeichnung",
        "produktname", "itemname", "title", "navn", "namn")),
    _F("product_description", "product", "description", 4000, aliases=(
        "description", "salesdescription", "productdescription", "beskrivelse", "beskrivning",
        "beschreibung", "produktbeskrivelse", "langtext")),
    _F("product_category", "product", "category", 100, list_name="product_category", aliases=(
        "category", "productcategory", "categoryid", "kategori", "produktkategori",
        "varegruppe", "varugrupp", "warengruppe", "kategorie", "productgroup")),
    _F("product_family", "product", "family", 100, list_name="product_family", aliases=(
        "family", "productfamily", "produktfamilie", "familie", "familj", "produktfamilj",
        "productline")),
    _F("product_type", "product", "type", 100, list_name="product_type", aliases=(
        "type", "producttype", "produkttype", "produkttyp", "typ", "art")),
    _F("product_unit", "product", "unit", 100, aliases=(
        "unit", "uom", "unitofmeasure", "quantityperunit", "enhet", "enhed", "einheit",
        "mengeneinheit", "salesunit", "pakning")),
    _F("product_list_price", "product", "list_price", 50, aliases=(
        "listprice", "price", "unitprice", "salesprice", "saleprice", "pris", "listepris",
        "salgspris", "utpris", "utsalgspris", "listpris", "forsaljningspris", "preis",
        "listenpreis", "verkaufspreis", "enhetspris", "stykkpris")),
    _F("product_min_price", "product", "min_price", 50, aliases=(
        "minprice", "minimumprice", "minpris", "minstepris", "lavestepris", "mindestpreis",
        "lowestprice")),
    _F("product_cost", "product", "cost", 50, aliases=(
        "cost", "costprice", "kostpris", "innpris", "innkjopspris", "inkopspris",
        "einkaufspreis", "selbstkosten", "purchaseprice", "standardcost")),
    _F("product_vat_rate", "product", "vat_rate", 20, aliases=(
        "vat", "vatrate", "vatpercent", "mva", "mvasats", "moms", "momssats", "mwst",
        "mehrwertsteuer", "taxrate", "tax", "ustsatz")),
)
PRODUCT_ALIASES: dict[str, str] = {
    header_key(alias): f.name for f in PRODUCT_FIELDS for alias in (f.name, *f.aliases)
}
PRODUCT_REQUIRED = ("product_code", "product_name", "product_list_price")

FIELDS_BY_NAME: dict[str, Field] = {f.name: f for f in (*FIELDS, *PRODUCT_FIELDS)}

# Headers that name a field of either entity ("Phone", "Address", "City"): which one they
# mean depends on what else the file has, see `transforms.mapping`.
GENERIC_ALIASES: dict[str, tuple[str, str, Entity]] = {
    # header key: (company field, person field, the entity preferred when both are in the file)
    **{k: ("company_phone", "person_phone", "person") for k in (
        "phone", "telephone", "tel", "telefon", "telefonnummer", "phonenumber", "telefonnr",
        "tlf", "tlfnr", "phone1", "primaryphone")},
    **{k: ("company_fax", "person_fax", "company") for k in ("fax", "telefax", "faxnumber")},
    **{k: ("company_email", "person_email", "person") for k in (
        "email", "mail", "epost", "epostadresse", "emailadresse", "emailadress",
        "mailadresse", "mailadress", "emailaddress1")},
    **{k: ("company_street", "person_street", "company") for k in (
        "address", "street", "streetaddress", "adresse", "adress", "gate", "gatuadress",
        "postadresse", "postaladdress", "strasse", "straße", "anschrift", "address1",
        "addressline1", "street1")},
    **{k: ("company_postcode", "person_postcode", "company") for k in (
        "postcode", "zip", "zipcode", "postalcode", "postnummer", "postnr", "plz",
        "postleitzahl", "postnummber")},
    **{k: ("company_city", "person_city", "company") for k in (
        "city", "town", "poststed", "sted", "by", "ort", "postort", "stadt", "place")},
    **{k: ("company_country", "person_country", "company") for k in (
        "country", "land", "countryregion", "nation")},
    **{k: ("company_notes", "person_notes", "person") for k in (
        "notes", "note", "comment", "comments", "notat", "notater", "merknad", "anteckning",
        "anteckningar", "bemærkning", "bemaerkning", "notiz", "notizen", "bemerkung",
        "bemerkungen", "kommentar", "remarks", "description")},
}

# Every alias → field name; built once, checked for clashes by the tests.
ALIASES: dict[str, str] = {
    header_key(alias): f.name for f in FIELDS for alias in (f.name, *f.aliases)
}

# Columns the import adds from the settings (privacy), treated like import cells.
PRIVACY_FIELDS: dict[str, str] = {
    "person_legal_basis": "legal_basis",
    "person_consent_source": "consent_source",
    "person_consent_comment": "consent_comment",
}


def base_field(column: str) -> Field | None:
    """The field of a canonical column, `person_email_2` → person_email."""
    if column in FIELDS_BY_NAME:
        return FIELDS_BY_NAME[column]
    m = re.fullmatch(r"(.+)_(\d+)", column)
    return FIELDS_BY_NAME.get(m.group(1)) if m else None
