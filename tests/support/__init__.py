"""Shared test support: a real PostgreSQL for the suite (embedded unless ACMEEH_TEST_DATABASE_URL)."""
