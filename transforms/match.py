"""Match keys of the file against the CRM: set-based joins in the store's SQL engine.

The CRM's key columns are read once, normalised with the same Polars expressions as the
file (so both sides compare on identical keys), and joined in DuckDB.
"""

from __future__ import annotations

import polars as pl

from contracts.fields import FIELDS_BY_NAME
from transforms import normalise as nz
from transforms.store.sql import ident

# company.match → (canonical columns it needs, key expression over canonical columns)
COMPANY_KEY_COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("company_name",),
    "name+department": ("company_name",),
    "number": ("company_number",),
    "code": ("company_code",),
    "vat": ("company_vat_number",),
    "orgnr": ("company_orgnr",),
    "id": ("company_id",),
}
PERSON_KEY_COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("person_first_name", "person_last_name"),
    "email": ("person_email",),
    "mobile": ("person_mobile",),
    "number": ("person_number",),
    "id": ("person_id",),
    "none": (),
}


def _col(names: set[str], name: str) -> pl.Expr:
    return pl.col(name) if name in names else pl.lit(None, pl.String)


def company_key(match: str, names: set[str]) -> pl.Expr:
    """The company match key over canonical columns (null: cannot match)."""
    c = lambda n: _col(names, n)  # noqa: E731
    match match:
        case "name":
            return nz.text_key(c("company_name"))
        case "name+department":
            name = nz.text_key(c("company_name"))
            return pl.when(name.is_not_null()).then(
                pl.concat_str([name, nz.text_key(c("company_department")).fill_null("")],
                              separator=" | "))
        case "number":
            return nz.text_key(c("company_number"))
        case "code":
            return nz.text_key(c("company_code"))
        case "vat":
            return nz.digits_key(c("company_vat_number"))
        case "orgnr":
            return nz.digits_key(c("company_orgnr"))
        case "id":
            return c("company_id").str.strip_chars().replace("", None)
    raise ValueError(match)


def person_key(match: str, names: set[str]) -> pl.Expr:
    c = lambda n: _col(names, n)  # noqa: E731
    match match:
        case "name":
            return nz.person_name_key(c("person_first_name"), c("person_last_name"))
        case "email":
            return c("person_email__key")
        case "mobile":
            return c("person_mobile__key")
        case "number":
            return nz.text_key(c("person_number"))
        case "id":
            return c("person_id").str.strip_chars().replace("", None)
        case "none":
            return pl.lit(None, pl.String)
    raise ValueError(match)


def _crm_as_canonical(frame: pl.DataFrame, entity: str) -> pl.DataFrame:
    """Rename CRM columns to canonical names so the file's key expressions apply."""
    renames = {f.column: f.name for f in FIELDS_BY_NAME.values()
               if f.entity == entity and f.column and f.column in frame.columns}
    return frame.rename(renames)


def crm_company_keys(store, match: str, ids: tuple[int, int] | None = None) -> pl.DataFrame:
    """crm_id, key for every CRM company (ids: only those with company_id in lo..hi)."""
    where, params = ("WHERE company_id BETWEEN ? AND ?", list(ids)) if ids else ("", None)
    column = {"name": "name", "name+department": "name", "number": "number", "code": "code",
              "vat": "vat_number", "orgnr": "orgnr"}.get(match)
    if match == "id":
        return store.query("SELECT company_id AS crm_id, CAST(company_id AS VARCHAR) AS key "
                           f"FROM company {where}", params)
    extra = ", department" if match == "name+department" else ""
    crm = _crm_as_canonical(store.query(f"SELECT company_id AS crm_id, {ident(column)}{extra} "
                                        f"FROM company {where}", params), "company")
    names = set(crm.columns)
    return crm.select("crm_id", company_key(match, names).alias("key")).drop_nulls("key")


def crm_person_keys(store, match: str, ids: tuple[int, int] | None = None) -> pl.DataFrame:
    """crm_id, scope (company id as text, or 'none'), key for every CRM person (ids: only
    persons with an id in lo..hi)."""
    scope = pl.col("company_id").cast(pl.String).fill_null("none").alias("scope")
    params = list(ids) if ids else None

    def within(column: str, joiner: str) -> str:
        return f" {joiner} {column} BETWEEN ? AND ?" if ids else ""

    if match == "name":
        crm = store.query("SELECT person_id AS crm_id, company_id, first_name, last_name FROM person"
                          + within("person_id", "WHERE"), params)
        key = nz.person_name_key(pl.col("first_name"), pl.col("last_name"))
        return crm.select("crm_id", scope, key.alias("key")).drop_nulls("key")
    if match == "email":
        crm = store.query("SELECT owner_id AS crm_id, address FROM email WHERE owner_kind = 'person'"
                          + within("owner_id", "AND"), params)
        key = nz.email_key(pl.col("address"))
    elif match == "mobile":
        crm = store.query("SELECT owner_id AS crm_id, number_e164 FROM phone "
                          "WHERE owner_kind = 'person' AND kind = 'mobile'"
                          + within("owner_id", "AND"), params)
        key = pl.col("number_e164")
    elif match == "number":
        crm = store.query("SELECT person_id AS crm_id, number FROM person"
                          + within("person_id", "WHERE"), params)
        key = nz.text_key(pl.col("number"))
    elif match == "id":
        crm = store.query("SELECT person_id AS crm_id, CAST(person_id AS VARCHAR) AS k FROM person"
                          + within("person_id", "WHERE"), params)
        key = pl.col("k")
    else:
        return pl.DataFrame(schema={"crm_id": pl.Int64, "scope": pl.String, "key": pl.String})
    return crm.select("crm_id", pl.lit("any").alias("scope"), key.alias("key")).drop_nulls("key")


CANDIDATE_SQL = """
SELECT f."group", c.crm_id
FROM file_keys f JOIN crm_keys c ON f.key = c.key AND f.scope = c.scope
"""


def find_candidates(store, file_keys: pl.DataFrame, crm_keys: pl.DataFrame) -> pl.DataFrame:
    """Every (group, crm_id) pair whose keys (and scopes) are equal: one join in SQL.

    file_keys: group, scope, key (unique per group); crm_keys: crm_id, scope, key.
    """
    if "scope" not in crm_keys.columns:
        crm_keys = crm_keys.with_columns(pl.lit("any").alias("scope"))
    engine = store.compute  # both frames are here already: join them in DuckDB, in process
    engine.register("file_keys", file_keys.select("group", "scope", "key").drop_nulls("key"))
    engine.register("crm_keys", crm_keys.select("crm_id", "scope", "key"))
    try:
        pairs = engine.query(CANDIDATE_SQL)
    finally:
        engine.unregister_all()
    return pairs.unique().sort("group", "crm_id")


def crm_erp_keys(store, table: str, system: str) -> pl.DataFrame:
    """crm_id, erp_key of the CRM records linked to one ERP system."""
    key = {"company": "company_id", "person": "person_id"}[table]
    return store.query(f"SELECT {ident(key)} AS crm_id, erp_key FROM {ident(table)} "
                       "WHERE erp_system = ? AND erp_key IS NOT NULL", [system])


def erp_cascade(frame: pl.DataFrame, crm_keys: pl.DataFrame, linked: pl.DataFrame, *,
                erp_key: str, key: str, scope: str | None = None
                ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """ERP key first, then the settings' key (SPEC §5 "ERP actors").

    An actor whose ERP key the CRM knows gets the key "erp:<key>" (global scope); any other
    keeps its settings key, which is compared only with CRM records not linked to this ERP
    (a record linked to another actor is that actor's, whatever its name).
    """
    known = pl.col(erp_key).is_in(linked["erp_key"].implode()).fill_null(False)
    frame = frame.with_columns(
        pl.when(known).then(pl.lit("erp:") + pl.col(erp_key)).otherwise(pl.col(key)).alias(key),
        *([pl.when(known).then(pl.lit("any")).otherwise(pl.col(scope)).alias(scope)]
          if scope else []))
    erp_side = linked.select("crm_id", (pl.lit("erp:") + pl.col("erp_key")).alias("key"),
                             pl.lit("any").alias("scope"))
    others = crm_keys.filter(~pl.col("crm_id").is_in(linked["crm_id"].implode()))
    erp_side = erp_side.select(crm_keys.columns).cast(crm_keys.schema)
    return frame, pl.concat([erp_side, others], how="vertical_relaxed")
