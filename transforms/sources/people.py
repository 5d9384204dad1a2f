"""Google People API JSON (a saved `people.connections.list` response) → contact values.

Accepted shapes: one response (`{"connections": [...]}`), a list of responses (pages), a
list of person resources, or one person resource. Each person becomes the vCard-like
properties `transforms.sources.vcard.classify` already knows, so phone types ("mobile",
"workFax"), address types and organisations follow the same rules as a vCard.

Contact group memberships are interests only for Google's named system groups (friends,
family, coworkers): a user group is an opaque id here (its name needs contactGroups.list),
so it is left out and said so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from contracts.errors import NoRows, SourceUnreadable
from transforms.sources.records import records_table
from transforms.sources.table import RawTable
from transforms.sources.vcard import _escape

NAMED_GROUPS = {"friends": "Friends", "family": "Family", "coworkers": "Coworkers"}


def is_people_json(data: Any) -> bool:
    first = data[0] if isinstance(data, list) and data else data
    return isinstance(first, dict) and bool({"connections", "resourceName", "names",
                                             "totalPeople"} & set(first))


def _persons(data: Any) -> list[dict]:
    items = data if isinstance(data, list) else [data]
    persons: list[dict] = []
    for item in items:
        if not isinstance(item, dict):
            raise ValueError("expected JSON objects")
        persons.extend(item.get("connections", []) if "connections" in item or "totalPeople" in item
                       else [item])
    return persons


def _date(d: dict) -> str | None:
    if not d.get("month") or not d.get("day"):
        return None
    year = f"{d['year']:04d}" if d.get("year") else "-"
    return f"{year}-{d['month']:02d}-{d['day']:02d}"


def _props(person: dict) -> tuple[list[tuple[str, str, str]], set[str]]:
    """(name, types, value) of one person; the names of what was left out."""
    out: list[tuple[str, str, str]] = []
    left_out: set[str] = set()

    def text(d: dict, key: str) -> str:
        return _escape(str(d.get(key) or ""))

    for n in person.get("names", [])[:1]:
        out.append(("N", "", ";".join(text(n, k) for k in (
            "familyName", "givenName", "middleName", "honorificPrefix", "honorificSuffix"))))
        if n.get("displayName"):
            out.append(("FN", "", text(n, "displayName")))
    for o in person.get("organizations", []):
        out.append(("ORG", o.get("type", ""), f"{text(o, 'name')};{text(o, 'department')}"))
        if o.get("title"):
            out.append(("TITLE", "", text(o, "title")))
    for e in person.get("emailAddresses", []):
        out.append(("EMAIL", e.get("type", ""), text(e, "value")))
    for p in person.get("phoneNumbers", []):
        out.append(("TEL", p.get("type", ""), text(p, "value") or text(p, "canonicalForm")))
    for a in person.get("addresses", []):
        street = text(a, "streetAddress") or ("" if a.get("city") else text(a, "formattedValue"))
        out.append(("ADR", a.get("type", ""), ";".join(
            [text(a, "poBox"), text(a, "extendedAddress"), street, text(a, "city"),
             text(a, "region"), text(a, "postalCode"), text(a, "country")])))
    for u in person.get("urls", []):
        out.append(("URL", u.get("type", ""), text(u, "value")))
    for b in person.get("birthdays", [])[:1]:
        day = _date(b.get("date") or {}) or b.get("text")
        if day:
            out.append(("BDAY", "", _escape(day)))
    for b in person.get("biographies", []):
        out.append(("NOTE", "", text(b, "value")))
    for m in person.get("memberships", []):
        group = (m.get("contactGroupMembership") or {}).get("contactGroupId", "")
        if group in NAMED_GROUPS:
            out.append(("CATEGORIES", "", NAMED_GROUPS[group]))
        elif group not in ("myContacts", "starred", ""):
            left_out.add("memberships (user contact groups)")
    known = {"resourceName", "etag", "metadata", "names", "organizations", "emailAddresses",
             "phoneNumbers", "addresses", "urls", "birthdays", "biographies", "memberships"}
    left_out |= set(person) - known
    return out, left_out


def read_people(path: Path, data: Any) -> RawTable:
    try:
        persons = _persons(data)
    except (ValueError, TypeError, AttributeError) as exc:
        raise SourceUnreadable(str(path), f"not a People API response: {exc}") from None
    if not persons:
        raise NoRows(str(path), "the response holds no connections")
    return people_table(persons, str(path))


def people_table(persons: list[Any], name: str) -> RawTable:
    """People API person resources (a file's, or pulled from the account) → the table."""
    return records_table(persons, name, _props, source="google", fmt="people-api",
                         shape="the People API")
