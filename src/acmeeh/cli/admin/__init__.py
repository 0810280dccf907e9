"""`admin ...`: every operation of the admin REST API from the command line, over HTTP
(dispatch.py → client.py, one cmd_*.py module per group of commands), plus the local
`create-user` bootstrap (bootstrap.py)."""
