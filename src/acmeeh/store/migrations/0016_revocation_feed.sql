-- Revocation announcements for the OCSP responders of every instance.
-- Each process keeps the revocation state of stored certificates in memory while it LISTENs on
-- channel acmeeh_revocations. These triggers announce, on that channel, every change of a stored
-- certificate's revocation state and every removal of a stored certificate, whatever wrote it
-- (ACME, the admin API, the CLI, or an operator's own SQL). The payload is the serial.
-- PostgreSQL delivers a notification when the transaction that sent it commits, and drops it if
-- the transaction rolls back, so a listener never hears of a change that did not happen.
CREATE FUNCTION acmeeh_announce_revocation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('acmeeh_revocations', OLD.serial);
    ELSE
        PERFORM pg_notify('acmeeh_revocations', NEW.serial);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER certificates_revocation_announced
    AFTER UPDATE OF revoked_at, revocation_reason ON certificates
    FOR EACH ROW
    WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at
          OR OLD.revocation_reason IS DISTINCT FROM NEW.revocation_reason)
    EXECUTE FUNCTION acmeeh_announce_revocation();

CREATE TRIGGER certificates_removal_announced
    AFTER DELETE ON certificates
    FOR EACH ROW
    EXECUTE FUNCTION acmeeh_announce_revocation();
