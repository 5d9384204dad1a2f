"""Pure frame/SQL functions: sources, mapping, normalisation, matching, planning, the store."""
