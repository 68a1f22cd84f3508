-- The organisation of the user who acted: an organisation's admin reads its own acts only.
ALTER TABLE audit_log ADD COLUMN IF NOT EXISTS organization_id uuid;
CREATE INDEX IF NOT EXISTS audit_log_organization_idx ON audit_log (organization_id, seq DESC);
