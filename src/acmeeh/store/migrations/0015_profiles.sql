-- Certificate profiles (the ACME profiles extension, draft-ietf-acme-profiles).

-- The profile an order was created under (ca.profiles); NULL for orders made before profiles,
-- which are issued under ca.default_profile.
ALTER TABLE orders ADD COLUMN profile text;

-- The profiles the account bound to an EAB key (scope 'eab', scope_id the kid), or one account
-- (scope 'account', scope_id its id), may name; no row: no restriction. Both scopes narrow.
CREATE TABLE profile_restrictions (
    scope      text        NOT NULL CHECK (scope IN ('eab', 'account')),
    scope_id   text        NOT NULL,
    profiles   text[]      NOT NULL CHECK (cardinality(profiles) > 0),
    updated_by text,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, scope_id)
);
