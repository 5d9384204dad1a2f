"""Microsoft Graph contacts (Outlook / Microsoft 365, `GET /me/contacts`) → contact values.

Each contact becomes the vCard-like properties `transforms.sources.vcard.classify` knows,
so phone kinds, address kinds and organisations follow the same rules as a vCard or the
Outlook CSV export (docs/SOURCES.md has the table). Graph's contact resource:
https://learn.microsoft.com/en-us/graph/api/resources/contact
"""

from __future__ import annotations

from typing import Any

from transforms.sources.records import records_table
from transforms.sources.table import RawTable
from transforms.sources.vcard import _escape

# Graph's address properties → the vCard ADR type that decides whose address it is
ADDRESSES = {"businessAddress": "work", "homeAddress": "home", "otherAddress": "other"}
PHONES = {"businessPhones": "work", "homePhones": "home"}
# what the import reads (the rest is listed as left out, but for bookkeeping fields)
READ = {"givenName", "middleName", "surname", "title", "generation", "displayName",
        "companyName", "department", "jobTitle", "emailAddresses", "businessPhones",
        "homePhones", "mobilePhone", "businessAddress", "homeAddress", "otherAddress",
        "businessHomePage", "personalHomePage", "categories", "personalNotes", "birthday"}
# bookkeeping, not data about the contact (the rest, when filled, is listed as left out)
SILENT = {"id", "@odata.etag", "@odata.type", "createdDateTime", "lastModifiedDateTime",
          "changeKey", "parentFolderId", "fileAs"}


def _props(contact: dict[str, Any]) -> tuple[list[tuple[str, str, str]], set[str]]:
    def text(d: dict[str, Any], key: str) -> str:
        return _escape(str(d.get(key) or ""))

    out: list[tuple[str, str, str]] = []
    if any(contact.get(k) for k in ("givenName", "middleName", "surname")):
        out.append(("N", "", ";".join(text(contact, k) for k in (
            "surname", "givenName", "middleName", "title", "generation"))))
    if contact.get("displayName"):
        out.append(("FN", "", text(contact, "displayName")))
    if contact.get("companyName") or contact.get("department"):
        out.append(("ORG", "", f"{text(contact, 'companyName')};{text(contact, 'department')}"))
    if contact.get("jobTitle"):
        out.append(("TITLE", "", text(contact, "jobTitle")))
    for e in contact.get("emailAddresses") or []:
        if e.get("address"):
            out.append(("EMAIL", "", text(e, "address")))
    for prop, kind in PHONES.items():
        out.extend(("TEL", kind, _escape(str(v))) for v in contact.get(prop) or [] if v)
    if contact.get("mobilePhone"):
        out.append(("TEL", "cell", text(contact, "mobilePhone")))
    for prop, kind in ADDRESSES.items():
        a = contact.get(prop) or {}
        if any(a.get(k) for k in ("street", "city", "postalCode", "countryOrRegion")):
            out.append(("ADR", kind, ";".join(["", "", text(a, "street"), text(a, "city"),
                                               text(a, "state"), text(a, "postalCode"),
                                               text(a, "countryOrRegion")])))
    for prop, kind in (("businessHomePage", "work"), ("personalHomePage", "home")):
        if contact.get(prop):
            out.append(("URL", kind, text(contact, prop)))
    for category in contact.get("categories") or []:
        out.append(("CATEGORIES", "", _escape(str(category))))
    if contact.get("personalNotes"):
        out.append(("NOTE", "", text(contact, "personalNotes")))
    if contact.get("birthday"):  # "1974-03-02T11:59:00Z": the day is what it means
        out.append(("BDAY", "", str(contact["birthday"])[:10]))
    filled = {k for k, v in contact.items() if v not in (None, "", [], {})}
    return out, filled - READ - SILENT


def graph_table(contacts: list[Any], name: str) -> RawTable:
    """Graph contact resources (pulled from a mailbox) → the table."""
    return records_table(contacts, name, _props, source="microsoft", fmt="graph",
                         shape="Graph")
