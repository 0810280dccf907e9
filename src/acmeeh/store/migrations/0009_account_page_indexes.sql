-- The admin API pages an account's certificates and authorizations newest first
-- (store/search.py: account_id = $1 ORDER BY created_at DESC, id DESC). With an index on
-- account_id alone every page sorted all of the account's rows, a cost that grew with the
-- account (an account renewing a fleet holds hundreds of thousands); these keep a page an
-- index range scan. The composite index also serves every lookup by account_id alone.
CREATE INDEX certificates_account_page_idx ON certificates (account_id, created_at DESC, id DESC);
DROP INDEX certificates_account_idx;
CREATE INDEX authorizations_account_page_idx
    ON authorizations (account_id, created_at DESC, id DESC);
