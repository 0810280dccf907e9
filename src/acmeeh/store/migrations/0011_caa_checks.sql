-- Issue 11 item 1: when CAA was last checked for an authorization (RFC 8659). Set when the
-- authorization is validated; finalize checks again when it is older than
-- caa.recheck_after_seconds. NULL (authorizations validated before this column, or of ip
-- identifiers) means "never checked": finalize checks a dns identifier then.
ALTER TABLE authorizations ADD COLUMN caa_checked_at timestamptz;
