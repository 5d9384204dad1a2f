-- The CRM schema (SPEC §5), version 1. Table and column names are a public interface.
-- Written in the SQL that DuckDB and PostgreSQL share.
-- Ids come from id_counter inside the run's transaction (so a rolled-back run leaves no
-- gap and a record inserted by hand with its own id is never collided with).
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, applied_at TIMESTAMP);


CREATE TABLE IF NOT EXISTS id_counter (name VARCHAR PRIMARY KEY, last_id BIGINT NOT NULL);

CREATE TABLE IF NOT EXISTS company (
    company_id BIGINT PRIMARY KEY,
    name VARCHAR, department VARCHAR, number VARCHAR, code VARCHAR,
    vat_number VARCHAR, orgnr VARCHAR, category VARCHAR, business VARCHAR,
    street VARCHAR, postcode VARCHAR, city VARCHAR, country VARCHAR, notes VARCHAR,
    erp_system VARCHAR, erp_key VARCHAR
);
CREATE TABLE IF NOT EXISTS person (
    person_id BIGINT PRIMARY KEY,
    company_id BIGINT,
    first_name VARCHAR, middle_name VARCHAR, last_name VARCHAR, title VARCHAR,
    position VARCHAR, number VARCHAR, birth_date DATE,
    street VARCHAR, postcode VARCHAR, city VARCHAR, country VARCHAR, notes VARCHAR,
    legal_basis VARCHAR, consent_source VARCHAR, consent_comment VARCHAR,
    erp_system VARCHAR, erp_key VARCHAR
);
CREATE TABLE IF NOT EXISTS phone (
    phone_id BIGINT PRIMARY KEY, owner_kind VARCHAR NOT NULL, owner_id BIGINT NOT NULL,
    kind VARCHAR NOT NULL, number VARCHAR NOT NULL, number_e164 VARCHAR, rank INTEGER
);
CREATE TABLE IF NOT EXISTS email (
    email_id BIGINT PRIMARY KEY, owner_kind VARCHAR NOT NULL, owner_id BIGINT NOT NULL,
    address VARCHAR NOT NULL, rank INTEGER
);
CREATE TABLE IF NOT EXISTS url (
    url_id BIGINT PRIMARY KEY, owner_kind VARCHAR NOT NULL, owner_id BIGINT NOT NULL,
    url VARCHAR NOT NULL, rank INTEGER
);
CREATE TABLE IF NOT EXISTS interest (
    interest_id BIGINT PRIMARY KEY, owner_kind VARCHAR NOT NULL, owner_id BIGINT NOT NULL,
    value VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS list_item (
    list_item_id BIGINT PRIMARY KEY, list_name VARCHAR NOT NULL, value VARCHAR NOT NULL,
    is_default BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE TABLE IF NOT EXISTS price_list (
    price_list_id BIGINT PRIMARY KEY, name VARCHAR NOT NULL, currency VARCHAR
);
CREATE TABLE IF NOT EXISTS product (
    product_id BIGINT PRIMARY KEY, price_list_id BIGINT NOT NULL,
    code VARCHAR, name VARCHAR, description VARCHAR, category VARCHAR, family VARCHAR,
    type VARCHAR, unit VARCHAR, list_price DECIMAL(18, 4), min_price DECIMAL(18, 4),
    cost DECIMAL(18, 4), vat_rate DECIMAL(9, 4), in_assortment BOOLEAN
);

CREATE TABLE IF NOT EXISTS import_run (
    run_id VARCHAR PRIMARY KEY, source VARCHAR, file VARCHAR, file_sha256 VARCHAR,
    settings VARCHAR, started_at TIMESTAMP, finished_at TIMESTAMP, status VARCHAR,
    rows_read BIGINT, rows_rejected BIGINT,
    company_new BIGINT, company_updated BIGINT, company_unchanged BIGINT,
    company_skipped BIGINT, company_ambiguous BIGINT,
    person_new BIGINT, person_updated BIGINT, person_unchanged BIGINT,
    person_skipped BIGINT, person_ambiguous BIGINT,
    product_new BIGINT, product_updated BIGINT, product_unchanged BIGINT,
    product_skipped BIGINT, product_ambiguous BIGINT,
    summary VARCHAR
);
CREATE TABLE IF NOT EXISTS selection (
    selection_id VARCHAR PRIMARY KEY, run_id VARCHAR, kind VARCHAR, name VARCHAR
);
CREATE TABLE IF NOT EXISTS selection_member (
    selection_id VARCHAR NOT NULL, entity VARCHAR NOT NULL, entity_id BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS change_log (
    change_id BIGINT, run_id VARCHAR NOT NULL, entity VARCHAR NOT NULL, entity_id BIGINT,
    op VARCHAR NOT NULL, field VARCHAR, old_value VARCHAR, new_value VARCHAR
);
