"""External programs the tests drive (lego, openssl, nginx, promtool, Apache httpd with mod_md).

A missing program is a skip on a workstation, where the developer may not have installed it,
but a failure when CI is set: `scripts/test` installs them there, and a skipped test proves
nothing.
"""
from __future__ import annotations

import os
import shutil

import pytest


def required_tool(name: str, install_hint: str) -> str:
    """The path of `name`; skips (workstation) or fails (CI) when it is not installed."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/usr/local/bin")
    if found is not None:
        return found
    if os.environ.get("CI"):
        pytest.fail(f"{name} is not installed but CI is set: its tests must run ({install_hint})")
    pytest.skip(f"{name} is not installed ({install_hint})")
