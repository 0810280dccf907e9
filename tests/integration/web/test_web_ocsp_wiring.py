"""create_app wires ocsp.listen_for_revocations: the responder's remembered states go to the
runtime (whose start, with the loops, starts the listener that keeps them true), or nowhere."""
from __future__ import annotations


def test_listening_is_wired_by_default(web_apps) -> None:
    app = web_apps()
    assert app.ocsp is not None and app.runtime.ocsp_states is app.ocsp.states
    assert app.runtime.listener is None  # started without the loops: nothing listens here
    assert not app.ocsp.states.live  # so every state is read from the database


def test_off_reads_every_state_from_the_database(web_apps) -> None:
    app = web_apps({"ocsp": {"listen_for_revocations": False}})
    assert app.ocsp is not None and app.runtime.ocsp_states is None


def test_no_responder_no_listener(web_apps) -> None:
    assert web_apps({"ocsp": {"enabled": False}}).runtime.ocsp_states is None
