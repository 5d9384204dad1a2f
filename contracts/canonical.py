"""Pandera (polars) contracts of the canonical contact row and the plan.

The canonical model is built from `contracts.fields.FIELDS`, so a field added there is
checked here: every value must be storable (no NUL character, within the column's limit).
Value checks are vectorised expressions; failures come back as `failure_cases` rows
(`index`, `column`, `check`, `failure_case`) that `transforms.validate` turns into rejects.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Optional

import pandera.polars as pa
import polars as pl

from contracts.fields import FIELDS, PRIVACY_FIELDS, PRODUCT_FIELDS, Field

NUL_CHECK = "no NUL character"
FORMULA_ERROR_CHECK = "no formula error"
# what Excel/LibreOffice leave in a cell whose formula failed
FORMULA_ERRORS = r"^#(?:N/A|REF!|DIV/0!|VALUE!|NAME\?|NUM!|NULL!|SPILL!|CALC!|GETTING_DATA)$"


def _no_nul(data: pa.PolarsData) -> pl.LazyFrame:
    return data.lazyframe.select(
        pl.col(data.key).str.contains("\x00", literal=True).fill_null(False).not_()
    )


def _field_annotations(fields: Iterable[Field], extra: dict[str, int]) -> tuple[dict, dict]:
    annotations: dict = {"source_row": int}
    attrs: dict = {"source_row": pa.Field(ge=1, unique=True)}
    for f in fields:
        annotations[f.name] = Optional[str]  # noqa: UP045 - pandera reads typing.Optional
        attrs[f.name] = pa.Field(
            nullable=True,
            str_length={"max_value": f.max_len},
            # multi-valued fields may come from several columns: person_email, person_email_2
            alias=rf"^{f.name}(_\d+)?$" if f.multi else f.name,
            regex=bool(f.multi),
        )
    for name, limit in extra.items():
        annotations[name] = Optional[str]  # noqa: UP045
        attrs[name] = pa.Field(nullable=True, str_length={"max_value": limit})
    return annotations, attrs


class _Config:
    strict = False  # unmapped helper columns (keys, flags) may ride along
    coerce = False


def _model(name: str, fields: Iterable[Field], extra: dict[str, int], doc: str) -> type[pa.DataFrameModel]:
    ann, attrs = _field_annotations(fields, extra)
    return type(name, (pa.DataFrameModel,),
                {"__annotations__": ann, **attrs, "Config": _Config, "__doc__": doc})


CanonicalContact = _model(
    "CanonicalContact", FIELDS, dict.fromkeys(PRIVACY_FIELDS, 255),
    "One mapped contact row: CRM field names, text values, source_row 1-based.")
CanonicalProduct = _model(
    "CanonicalProduct", PRODUCT_FIELDS, {},
    "One mapped product row: CRM field names, text values, source_row 1-based.")


def _no_formula_error(data: pa.PolarsData) -> pl.LazyFrame:
    return data.lazyframe.select(
        pl.col(data.key).str.contains(FORMULA_ERRORS).fill_null(False).not_()
    )


def nul_check_schema(columns: list[str]) -> pa.DataFrameSchema:
    """Column-wise storability checks, so failure cases name the column (not the whole row):
    no NUL character, no formula error value (#N/A, #REF!, …) standing in for data."""
    checks = [pa.Check(_no_nul, name=NUL_CHECK), pa.Check(_no_formula_error, name=FORMULA_ERROR_CHECK)]
    return pa.DataFrameSchema(
        {c: pa.Column(str, nullable=True, required=False, checks=checks) for c in columns},
        strict=False,
    )


class PlanRow(pa.DataFrameModel):
    """One decision per input row and entity (staging.plan)."""

    source_row: int = pa.Field(ge=1)
    entity: str = pa.Field(isin=["company", "person", "product"])
    outcome: str = pa.Field(
        isin=["new", "updated", "unchanged", "skipped", "rejected", "ambiguous"]
    )
    crm_id: Optional[int] = pa.Field(nullable=True)  # noqa: UP045
    reason: Optional[str] = pa.Field(nullable=True)  # noqa: UP045

    class Config:
        strict = False
