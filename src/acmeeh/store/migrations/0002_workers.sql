-- Background workers (issue 3): indexes for the challenge and cleanup workers' bounded scans.

-- Challenges the client answered that were put back in line (processing → pending), which the
-- challenge worker answers again.
CREATE INDEX challenges_requeued_idx ON challenges (updated_at)
    WHERE status = 'pending' AND attempts > 0;

-- Retention: orders that never got a certificate, oldest expiry first.
CREATE INDEX orders_retention_idx ON orders (expires) WHERE certificate_id IS NULL;

-- Authorization expiry looks only at pending and valid ones (the rest are final).
CREATE INDEX authorizations_open_expiry_idx ON authorizations (expires)
    WHERE status IN ('pending', 'valid');
