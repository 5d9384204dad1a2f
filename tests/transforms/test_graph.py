"""Microsoft Graph contacts → canonical values (docs/SOURCES.md, "Microsoft Graph's contact
fields"): the same meanings as the Outlook CSV export's columns."""

from __future__ import annotations

from transforms.columns import map_columns, mapping_summary
from transforms.sources.registry import read_records

ADELE = {
    "id": "AAMkADAd", "@odata.etag": 'W/"x"', "changeKey": "x", "parentFolderId": "AQMk",
    "createdDateTime": "2026-01-02T10:00:00Z", "fileAs": "Vance, Adele",
    "givenName": "Adele", "middleName": "M", "surname": "Vance", "title": "Dr.",
    "displayName": "Adele Vance", "companyName": "Contoso Ltd", "department": "Sales",
    "jobTitle": "Retail Manager",
    "emailAddresses": [{"name": "Adele", "address": "adelev@contoso.example"},
                       {"address": "adele@home.example"}],
    "businessPhones": ["+1 425 555 0109"], "homePhones": ["+1 425 555 0110"],
    "mobilePhone": "+1 425 555 0111",
    "businessAddress": {"street": "1 Microsoft Way", "city": "Redmond", "state": "WA",
                        "postalCode": "98052", "countryOrRegion": "United States"},
    "homeAddress": {"street": "12 Elm St", "city": "Seattle", "postalCode": "98101",
                    "countryOrRegion": "United States"},
    "otherAddress": {}, "businessHomePage": "https://contoso.example",
    "categories": ["Golf", "VIP"], "personalNotes": "Met at Ignite",
    "birthday": "1974-03-02T11:59:00Z", "nickName": "Del", "imAddresses": [],
    "spouseName": "", "children": [],
}


def test_a_graph_contact_maps_as_outlook_export_does():
    raw = read_records("microsoft", [ADELE], "microsoft:adele")
    mapped = map_columns(raw, None, (), "contacts", None)
    row = {k: v for k, v in mapped.canonical.row(0, named=True).items() if v is not None}
    assert row == {
        "source_row": 1, "company_name": "Contoso Ltd", "company_department": "Sales",
        "company_street": "1 Microsoft Way", "company_postcode": "98052",
        "company_city": "Redmond", "company_country": "United States",
        "company_url": "https://contoso.example", "person_first_name": "Adele",
        "person_middle_name": "M", "person_last_name": "Vance", "person_title": "Dr.",
        "person_position": "Retail Manager", "person_birth_date": "1974-03-02",
        "person_street": "12 Elm St", "person_postcode": "98101", "person_city": "Seattle",
        "person_country": "United States", "person_notes": "Met at Ignite",
        "person_phone": "+1 425 555 0109", "person_home_phone": "+1 425 555 0110",
        "person_mobile": "+1 425 555 0111", "person_email": "adelev@contoso.example",
        "person_email_2": "adele@home.example", "person_interest": "Golf",
        "person_interest_2": "VIP"}
    # bookkeeping is not data; a filled field the import does not read is said, empty ones not
    assert mapping_summary(mapped, raw.headers)["unmapped"] == ["nickName"]
    assert raw.records is not None and raw.records["record"][0].startswith('{"id": "AAMkADAd"')


def test_a_contact_with_only_a_company_is_a_company():
    raw = read_records("microsoft", [{"id": "1", "displayName": "Fabrikam",
                                      "companyName": "Fabrikam",
                                      "emailAddresses": [{"address": "post@fabrikam.example"}],
                                      "businessPhones": ["+1 425 555 0100"]}],
                       "microsoft:x")
    row = {k: v for k, v in map_columns(raw, None, (), "contacts", None).canonical
           .row(0, named=True).items() if v is not None}
    assert row["company_name"] == "Fabrikam"
    assert row.get("company_email") == "post@fabrikam.example"
    assert not any(k.startswith("person_") for k in row), row
