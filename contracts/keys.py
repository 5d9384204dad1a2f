"""The match keys: one table (SPEC §3 "Matching rules").

Each key says which canonical columns it reads, how they are normalised (a normaliser
name; `transforms.keys` turns it into the file's and the CRM's expressions), where the CRM
keeps those values, whether it is global or scoped to the record's company, and why a row
whose value cannot be a key is rejected when the key is in use. Validation, matching,
planning, chunking, the settings' allowed values and the CLI help all read this table:
adding a key is one entry here (plus a normaliser in `transforms.keys` if it needs one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

Entity = Literal["company", "person", "product"]
Scope = Literal["global", "company"]  # company: a person name is another person elsewhere


@dataclass(frozen=True)
class CrmSide:
    """Where the CRM keeps a key's values: `table.columns`, the record id in `id_column`,
    rows limited to `where` (column = fixed value, bound as parameters)."""
    table: str
    columns: tuple[str, ...]
    id_column: str
    where: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class MatchKey:
    entity: Entity
    name: str  # as written in the settings: `[person] match = "email"`
    columns: tuple[str, ...]  # canonical columns; the file needs at least the first group
    normaliser: str  # a name in transforms.keys.NORMALISERS
    crm: CrmSide | None  # None: `none` (nothing is matched)
    scope: Scope = "global"
    # the reason a row is rejected when its value cannot be a key and this key is in use
    invalid: str | None = None
    # columns the file must have one of (default: `columns`)
    required: tuple[str, ...] | None = None
    # a value that tells records of one key value apart (canonical column, CRM column):
    # where both hold one and they differ, the key does not make them one record — in the
    # file and against the CRM (two persons of one name born on different days are two)
    apart: tuple[str, str] | None = None

    @property
    def needs(self) -> tuple[str, ...]:
        return self.required if self.required is not None else self.columns


_NO_DIGITS = "has no digits, and companies are matched on it"
_NOT_AN_ID = "not a CRM id (a whole number), and it is the match key"

MATCH_KEYS: tuple[MatchKey, ...] = (
    # --- company --------------------------------------------------------------------------
    MatchKey("company", "name", ("company_name",), "text",
             CrmSide("company", ("name",), "company_id")),
    MatchKey("company", "name+department", ("company_name", "company_department"), "text_with",
             CrmSide("company", ("name", "department"), "company_id"),
             required=("company_name",)),
    MatchKey("company", "number", ("company_number",), "text",
             CrmSide("company", ("number",), "company_id")),
    MatchKey("company", "code", ("company_code",), "text",
             CrmSide("company", ("code",), "company_id")),
    MatchKey("company", "vat", ("company_vat_number",), "digits",
             CrmSide("company", ("vat_number",), "company_id"), invalid=_NO_DIGITS),
    MatchKey("company", "id", ("company_id",), "id",
             CrmSide("company", ("company_id",), "company_id"), invalid=_NOT_AN_ID),
    MatchKey("company", "orgnr", ("company_orgnr",), "digits",
             CrmSide("company", ("orgnr",), "company_id"), invalid=_NO_DIGITS),
    # --- person ---------------------------------------------------------------------------
    MatchKey("person", "name", ("person_first_name", "person_last_name"), "person_name",
             CrmSide("person", ("first_name", "last_name"), "person_id"), scope="company",
             apart=("person_birth_date", "birth_date")),
    MatchKey("person", "email", ("person_email",), "email",
             CrmSide("email", ("address",), "owner_id", (("owner_kind", "person"),)),
             invalid="not a valid email address, and persons are matched on it"),
    MatchKey("person", "mobile", ("person_mobile",), "phone",
             CrmSide("phone", ("number_e164", "number"), "owner_id",
                     (("owner_kind", "person"), ("kind", "mobile"))),
             invalid="not a valid phone number, and persons are matched on it"),
    MatchKey("person", "number", ("person_number",), "text",
             CrmSide("person", ("number",), "person_id")),
    MatchKey("person", "id", ("person_id",), "id",
             CrmSide("person", ("person_id",), "person_id"), invalid=_NOT_AN_ID),
    MatchKey("person", "none", (), "none", None),
    # --- product (within the run's price list) ----------------------------------------------
    MatchKey("product", "name", ("product_name",), "text",
             CrmSide("product", ("name",), "product_id")),
    MatchKey("product", "code", ("product_code",), "text",
             CrmSide("product", ("code",), "product_id")),
    MatchKey("product", "name+code", ("product_name", "product_code"), "text_both",
             CrmSide("product", ("name", "code"), "product_id")),
)

KEYS: dict[tuple[str, str], MatchKey] = {(k.entity, k.name): k for k in MATCH_KEYS}


def key_names(entity: Entity) -> tuple[str, ...]:
    return tuple(k.name for k in MATCH_KEYS if k.entity == entity)


def match_key(entity: str, name: str) -> MatchKey:
    return KEYS[(entity, name)]


def _literal(entity: Entity) -> Any:
    return Literal[key_names(entity)]  # (a Literal of the table's names: one list)


if TYPE_CHECKING:
    CompanyMatch = str
    PersonMatch = str
    ProductMatch = str
else:
    CompanyMatch = _literal("company")
    PersonMatch = _literal("person")
    ProductMatch = _literal("product")
