"""Authority: business rules and state machines; the only writer of ACME state.

Shells (web, admin, workers) call one function here per request; each function opens its own
transaction(s) through `env.pool` and returns store records.
"""
