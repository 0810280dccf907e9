"""Route tables: each URL rule with the view of each of its methods, registered in one loop
(admin/routes.py for the API, ui/routes.py for the dashboard); nothing registers on import."""
from __future__ import annotations

from collections.abc import Callable, Mapping

from flask import Blueprint
from werkzeug.wrappers import Response

# rule → {method: view}; a view's name is its endpoint (<blueprint>.<name>).
Routes = Mapping[str, Mapping[str, Callable[..., Response]]]


def add_routes(bp: Blueprint, routes: Routes) -> Blueprint:
    """Register every method of every rule of `routes` on `bp`, in order; returns `bp`."""
    for rule, views in routes.items():
        for method, view in views.items():
            bp.add_url_rule(rule, view_func=view, methods=[method])
    return bp
