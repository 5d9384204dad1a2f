-- Version 4: ERP keys as the ERP writes them (issue 17 §7). `erp_key` holds the ERP's own
-- key ("ALFKI"), `erp_entity` what kind of actor the record is ("customers", its contact
-- person "customers.contact"); records are found by (erp_system, erp_entity, erp_key).
-- Keys written before ("customers:ALFKI", "customers:ALFKI:contact") are rewritten.
ALTER TABLE company ADD COLUMN IF NOT EXISTS erp_entity VARCHAR;
ALTER TABLE person ADD COLUMN IF NOT EXISTS erp_entity VARCHAR;
UPDATE company SET erp_entity = split_part(erp_key, ':', 1),
       erp_key = substr(erp_key, length(split_part(erp_key, ':', 1)) + 2)
WHERE erp_system IS NOT NULL AND erp_entity IS NULL AND position(':' IN erp_key) > 1;
UPDATE person SET erp_entity = split_part(erp_key, ':', 1) || '.contact',
       erp_key = substr(erp_key, length(split_part(erp_key, ':', 1)) + 2,
                        length(erp_key) - length(split_part(erp_key, ':', 1)) - 9)
WHERE erp_system IS NOT NULL AND erp_entity IS NULL AND position(':' IN erp_key) > 1
  AND erp_key LIKE '%:contact';
UPDATE person SET erp_entity = split_part(erp_key, ':', 1),
       erp_key = substr(erp_key, length(split_part(erp_key, ':', 1)) + 2)
WHERE erp_system IS NOT NULL AND erp_entity IS NULL AND position(':' IN erp_key) > 1;
