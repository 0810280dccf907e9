"""Web: HTTP ends here. Flask blueprints for the ACME API; handlers authenticate, parse,
make one authority call and render."""
