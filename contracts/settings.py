"""`ImportSettings`: the import policy file (SPEC §3), validated on load."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from contracts.errors import SettingsInvalid, read_toml

Action = Literal["add", "merge", "replace", "skip"]
ListPolicy = Literal["add", "default", "blank"]
MultiPolicy = Literal["add", "replace", "ignore"]


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ImportSection(_Section):
    phone_region: str = "NO"
    # a share (0-1, a float) or a row count (an integer)
    max_rejects: float | int = 0.5
    # a CSV or sheet with more rows is imported in chunks of about this many (memory: one
    # chunk's; at 1M rows, 250k-row chunks cost the time of 500k and 0.5 GB less)
    chunk_rows: int = Field(default=250_000, ge=1000)

    @field_validator("phone_region")
    @classmethod
    def _region(cls, v: str) -> str:
        import phonenumbers  # only here: the settings file is small

        if v.upper() not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"{v!r} is not a region code phonenumbers knows (e.g. NO, SE, DK, DE)")
        return v.upper()

    @field_validator("max_rejects")
    @classmethod
    def _max(cls, v: float | int) -> float | int:
        if isinstance(v, float) and not 0 <= v <= 1:
            raise ValueError("a share must be between 0 and 1 (or give a whole row count)")
        if v < 0:
            raise ValueError("must not be negative")
        return v


CompanyMatch = Literal["name", "name+department", "number", "code", "vat", "id", "orgnr"]
PersonMatch = Literal["name", "email", "mobile", "number", "id", "none"]
IfNoCompany = Literal["create_company", "skip", "without_company"]


class CompanySection(_Section):
    match: CompanyMatch = "name"
    action: Action = "merge"
    protect: tuple[str, ...] = ()


class PersonSection(_Section):
    match: PersonMatch = "name"
    action: Action = "merge"
    protect: tuple[str, ...] = ()
    if_no_company: IfNoCompany = "create_company"


class PrivacySection(_Section):
    legal_basis: str = "default"
    consent_source: str = "import"
    comment: str = ""


class ListsSection(_Section):
    category: ListPolicy = "add"
    business: ListPolicy = "add"
    position: Literal["add", "blank"] = "add"
    interest: ListPolicy = "add"
    custom: ListPolicy = "add"
    phones: MultiPolicy = "add"
    urls_emails: MultiPolicy = "add"


class ProductSection(_Section):
    price_list: str = "Standard"
    currency: str = "NOK"
    match: Literal["name", "code", "name+code"] = "code"
    action: Action = "merge"
    protect: tuple[str, ...] = ()
    new_category: Literal["add", "blank"] = "add"
    new_family: Literal["add", "blank"] = "add"
    new_type: Literal["add", "blank"] = "add"


class ImportSettings(_Section):
    import_: ImportSection = Field(default_factory=ImportSection, alias="import")
    company: CompanySection = Field(default_factory=CompanySection)
    person: PersonSection = Field(default_factory=PersonSection)
    privacy: PrivacySection = Field(default_factory=PrivacySection)
    lists: ListsSection = Field(default_factory=ListsSection)
    product: ProductSection = Field(default_factory=ProductSection)

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    def as_toml_dict(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, mode="json")


# CRM columns a `protect` list may name, per entity.
PROTECTABLE = {
    "company": ("name", "department", "number", "code", "vat_number", "orgnr", "category",
                "business", "street", "postcode", "city", "country", "notes"),
    "person": ("company_id", "first_name", "middle_name", "last_name", "title", "position",
               "number", "birth_date", "street", "postcode", "city", "country", "notes",
               "legal_basis", "consent_source", "consent_comment"),
}


def _allowed(model: type[BaseModel], name: str) -> list[str]:
    field = model.model_fields.get(name)
    if field is None:
        return sorted(model.model_fields)
    args = get_args(field.annotation)
    return [str(a) for a in args] if args and all(isinstance(a, str) for a in args) else []


def parse_settings(data: dict[str, Any], *, source: str = "settings") -> ImportSettings:
    """Validate a settings mapping; the first problem becomes a `SettingsInvalid`."""
    try:
        settings = ImportSettings.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [str(p) for p in err["loc"] if not str(p).startswith(("literal[", "function-"))]
        key = ".".join(loc)
        sections: dict[str, type[BaseModel]] = {"import": ImportSection, "company": CompanySection,
                   "person": PersonSection, "privacy": PrivacySection,
                   "lists": ListsSection, "product": ProductSection}
        section = sections.get(loc[0] if loc else "")
        if err["type"] == "extra_forbidden":
            allowed = sorted(ImportSettings.model_fields.keys() - {"import_"} | {"import"}) \
                if section is None or len(loc) == 1 else sorted(section.model_fields)
            raise SettingsInvalid(source, key, "unknown key", allowed) from None
        allowed = _allowed(section, loc[1]) if section and len(loc) > 1 else []
        got = err.get("input")
        raise SettingsInvalid(source, key, f"{err['msg']} (got {got!r})", allowed) from None
    for entity in ("company", "person"):
        bad = [f for f in getattr(settings, entity).protect if f not in PROTECTABLE[entity]]
        if bad:
            raise SettingsInvalid(source, f"{entity}.protect", f"unknown field {bad[0]!r}",
                                  list(PROTECTABLE[entity]))
    return settings


def load_settings(path: str | Path | None) -> ImportSettings:
    """Read a settings TOML file (None: the defaults of SPEC §3)."""
    if path is None:
        return ImportSettings()
    p = Path(path)
    data = read_toml(p, lambda problem: SettingsInvalid(str(p), "(file)", problem))
    return parse_settings(data, source=str(p))
