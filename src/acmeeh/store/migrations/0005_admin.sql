-- Admin API: users, bearer tokens, audit log, external account binding keys (RFC 8555 §7.3.4),
-- identifier allowlists and the maintenance switch shared by every instance.

-- Operators of the admin REST API. Passwords are scrypt hashes ("scrypt$n$r$p$salt$hash");
-- repeated failures set locked_until.
CREATE TABLE admin_users (
    id            uuid PRIMARY KEY,
    username      text        NOT NULL UNIQUE,
    email         text        NOT NULL,
    role          text        NOT NULL CHECK (role IN ('admin', 'auditor')),
    password_hash text        NOT NULL,
    disabled      boolean     NOT NULL DEFAULT false,
    failed_logins integer     NOT NULL DEFAULT 0,
    locked_until  timestamptz,
    last_login_at timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX admin_users_page_idx ON admin_users (created_at DESC, id DESC);

-- Opaque bearer tokens, stored only as HMAC-SHA256(admin_api.token_secret, token), so neither a
-- copy of this table nor a copy of the secret alone yields a usable token.
CREATE TABLE admin_tokens (
    id         uuid PRIMARY KEY,
    user_id    uuid        NOT NULL REFERENCES admin_users (id) ON DELETE CASCADE,
    token_hash text        NOT NULL UNIQUE,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX admin_tokens_user_idx ON admin_tokens (user_id) WHERE revoked_at IS NULL;
CREATE INDEX admin_tokens_expiry_idx ON admin_tokens (expires_at);

-- Who did what to which object, and whether it worked. `details` never holds secrets.
CREATE TABLE audit_log (
    id          uuid PRIMARY KEY,
    actor       text,
    actor_id    uuid,
    action      text        NOT NULL,
    target      text,
    outcome     text        NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
    details     jsonb       NOT NULL DEFAULT '{}',
    remote_addr text,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX audit_log_page_idx ON audit_log (created_at DESC, id DESC);
CREATE INDEX audit_log_actor_idx ON audit_log (actor, created_at DESC);
CREATE INDEX audit_log_action_idx ON audit_log (action, created_at DESC);

-- External account binding keys: the HMAC key is shown once at creation and never again.
-- A key binds at most one account (account_id set by newAccount in the same transaction).
CREATE TABLE eab_keys (
    kid        text PRIMARY KEY,
    hmac_key   bytea       NOT NULL,
    label      text        NOT NULL DEFAULT '',
    created_by text,
    account_id uuid        UNIQUE REFERENCES accounts (id) ON DELETE SET NULL,
    used_at    timestamptz,
    revoked_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX eab_keys_page_idx ON eab_keys (created_at DESC, kid DESC);
CREATE INDEX accounts_eab_kid_idx ON accounts (eab_kid) WHERE eab_kid IS NOT NULL;

-- Identifier allowlists. scope 'global' applies to every order; 'eab' to accounts bound to
-- scope_id (a kid); 'account' to the account scope_id. kind 'name' is an exact identifier,
-- 'suffix' a dns name and everything under it.
CREATE TABLE identifier_allowlist (
    id         uuid PRIMARY KEY,
    scope      text        NOT NULL CHECK (scope IN ('global', 'eab', 'account')),
    scope_id   text        NOT NULL DEFAULT '',
    kind       text        NOT NULL CHECK (kind IN ('name', 'suffix')),
    value      text        NOT NULL,
    created_by text,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((scope = 'global') = (scope_id = '')),
    UNIQUE (scope, scope_id, kind, value)
);
CREATE INDEX identifier_allowlist_page_idx ON identifier_allowlist (created_at DESC, id DESC);

-- One row: the maintenance switch every instance reads on newOrder.
CREATE TABLE maintenance (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    enabled    boolean     NOT NULL DEFAULT false,
    changed_by text,
    changed_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO maintenance (singleton, enabled) VALUES (true, false);

-- Admin searches over ACME objects, newest first.
CREATE INDEX IF NOT EXISTS accounts_page_idx ON accounts (created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS orders_page_idx ON orders (created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS authorizations_page_idx ON authorizations (created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS certificates_page_idx ON certificates (created_at DESC, id DESC);
