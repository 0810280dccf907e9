"""Admin REST API: bearer-token operators (admin, auditor), audit log, EAB keys, identifier
allowlists, searches over ACME objects and maintenance mode; see docs/admin-api.md."""
