-- Issue 11 item 1: when CAA was last checked for an authorization (RFC 8659). Set when the
-- authorization is validated; finalize checks again when it is older than
-- caa.recheck_after_seconds. NULL (authorizations validated before this column, or of ip
-- identifiers) means "never checked": finalize checks a dns identifier then.
-- (Was 0011_caa_checks; IF NOT EXISTS keeps a database that applied it under that name safe.)
ALTER TABLE authorizations ADD COLUMN IF NOT EXISTS caa_checked_at timestamptz;
