/** Only letters, digits and underscores, so a schema name can be written into SQL unquoted. */
export const SCHEMA_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;
