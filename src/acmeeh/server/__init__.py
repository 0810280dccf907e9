"""Runs the WSGI app: gunicorn programmatically (gunicorn.py) or under any WSGI server (wsgi.py)."""
