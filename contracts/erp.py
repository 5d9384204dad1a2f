"""ERP profiles: which table or query, key and columns make an actor (SPEC §5 "ERP actors").

A profile is a TOML file:

    system = "northwind"                 # stored as erp_system on every CRM record it makes
    [actors.customers]
    table = "customers"                  # or: query = "SELECT … FROM …"
    key = "customer_id"                  # the ERP's own key of the actor
    filters = ["region"]                 # more columns --where may name (the mapped ones may)
    [actors.customers.columns]           # canonical field = ERP column
    company_name = "company_name"
    person_full_name = "contact_name"    # person_* fields of a company actor: its contact

Actor types: customers, suppliers (kind "company": a company, with its contact person if
the profile maps one) and individuals (kind "individual": a person, without company unless
`company` names a column or a fixed company name, `company_fixed`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from contracts.actors import ACTOR_TYPES, ActorType  # noqa: F401 - (re-exported)
from contracts.errors import ErpProfileInvalid, read_toml
from contracts.fields import FIELDS_BY_NAME

PROFILES = Path(__file__).resolve().parent / "profiles"
# fields the import itself fills from the key; a profile does not map them
DERIVED = ("company_erp_key", "company_erp_system", "person_erp_key", "person_erp_system",
           "company_id", "person_id")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ActorProfile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    table: str | None = None
    query: str | None = None
    key: str
    kind: Literal["company", "individual"] = "company"
    columns: dict[str, str]
    filters: tuple[str, ...] = ()
    company: str | None = None  # individuals: the ERP column naming their company
    company_fixed: str | None = None  # individuals: one company for all of them

    @model_validator(mode="after")
    def _check(self) -> ActorProfile:
        if (self.table is None) == (self.query is None):
            raise ValueError("give exactly one of table or query")
        for name in (self.table, self.key, self.company, *self.columns.values(), *self.filters):
            if name is not None and not _IDENT.match(name):
                raise ValueError(f"{name!r} is not a plain table or column name")
        for field in self.columns:
            f = FIELDS_BY_NAME.get(field)
            if f is None or f.entity == "product" or field in DERIVED:
                raise ValueError(f"columns: unknown field {field!r}")
            if self.kind == "individual" and f.entity == "company":
                raise ValueError(f"columns: {field!r} is a company field, and individuals are "
                                 "persons (name their company with `company`)")
        if self.kind == "company" and "company_name" not in self.columns:
            raise ValueError("columns: a company actor needs company_name")
        return self

    def erp_columns(self) -> list[str]:
        """Every ERP column the actor reads (key first)."""
        names = [self.key, *self.columns.values(), *([self.company] if self.company else [])]
        return list(dict.fromkeys(names))


class ErpProfile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    system: str
    description: str = ""
    actors: dict[ActorType, ActorProfile]


def load_profile(name_or_path: str | None) -> tuple[ErpProfile, str]:
    """(profile, where it came from): a shipped name (northwind, generic) or a TOML path."""
    name = name_or_path or "generic"
    path = Path(name)
    if not path.suffix and not path.exists():
        path = PROFILES / f"{name}.toml"
        if not path.exists():
            shipped = sorted(p.stem for p in PROFILES.glob("*.toml"))
            raise ErpProfileInvalid(name, "no such profile", shipped + ["a path to a .toml file"])
    data = read_toml(path, lambda problem: ErpProfileInvalid(str(path), problem))
    try:
        return ErpProfile.model_validate(data), str(path)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        allowed = list(ACTOR_TYPES) if len(err["loc"]) == 2 and err["loc"][0] == "actors" else None
        raise ErpProfileInvalid(str(path), f"{loc}: {msg}" if loc else msg, allowed) from None
