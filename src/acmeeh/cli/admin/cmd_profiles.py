"""`accounts profiles|restrict` and `eab profiles|restrict`: the certificate profiles an
account, or the account bound to an EAB key, may name in newOrder."""
from __future__ import annotations

from .client import EXIT_USAGE, CliError
from .context import Context, shows
from .output import Column
from .tree import Group

FIELDS: list[Column] = [("scope", "scope"), ("id", "scope_id"),
                        ("profiles", lambda r: ", ".join(r["profiles"]) if r.get("profiles")
                         else "(any configured profile)"),
                        ("updated by", "updated_by"), ("updated", "updated_at")]
# scope → (operationIds get, set; the path parameter; what the id names)
SCOPES = {
    "account": ("getAccountProfiles", "setAccountProfiles", "account_id", "account id"),
    "eab": ("getEabProfiles", "setEabProfiles", "kid", "EAB key id"),
}


def _restrict(scope: str):
    _, set_op, param, _ = SCOPES[scope]

    def run(ctx: Context) -> int:
        names, lift = ctx.opt("profile") or [], ctx.opt("any")
        if bool(names) == bool(lift):
            raise CliError("give --profile NAME (one or more) or --any", EXIT_USAGE)
        body = {"profiles": None if lift else names}
        return ctx.show(ctx.api.call(set_op, params={param: ctx.opt("id")}, body=body), FIELDS)

    return run


def register_in(group: Group, scope: str) -> None:
    """Add `profiles ID` and `restrict ID --profile NAME... | --any` to an existing group."""
    get_op, set_op, param, what = SCOPES[scope]
    group.command("profiles", shows(get_op, FIELDS, **{param: "id"}), [get_op],
                  "show the certificate profiles it may name in newOrder").add_argument(
        "id", help=what)
    p = group.command("restrict", _restrict(scope), [set_op],
                      "allow only these certificate profiles in its newOrders (--any: all)")
    p.add_argument("id", help=what)
    p.add_argument("--profile", action="append", metavar="NAME",
                   help="a profile of ca.profiles it may use (repeat for several)")
    p.add_argument("--any", action="store_true", help="lift the restriction")
