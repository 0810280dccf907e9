"""The OCSP GET form (RFC 6960 Appendix A.1) answered beneath Flask.

GET is the form HTTP caches, browsers and stapling servers use, and the one that comes in
volume: an answer from the responder's cache costs less than Flask's request machinery
(context, routing, hooks) around it. This WSGI layer answers `GET {ocsp.path}/{request}`
itself, with what the Flask route answers: the same body and headers, the request id (kept
from X-Request-ID or made, bound to the log lines, echoed), the HTTP metrics under the route's
endpoint name and the access log line. Everything else goes on to Flask unchanged: other
methods and paths, and conditional requests (If-None-Match, If-Modified-Since), which
werkzeug's rules answer there.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from .. import logs
from ..authority.env import Env
from ..authority.ocsp import OCSPResponder
from . import observe
from .pki import decode_get, ocsp_headers

log = logging.getLogger("acmeeh.web")

ENDPOINT = "pki.ocsp_get"  # the Flask route's endpoint: one series for both paths
_CONDITIONAL = ("HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE")


class OCSPGet:
    """WSGI middleware over `app` answering the OCSP GET form with `responder`."""

    def __init__(self, app: WSGIApplication, env: Env, responder: OCSPResponder, *, access_log: bool) -> None:
        self._app = app
        self._env = env
        self._responder = responder
        self._prefix = env.settings.ocsp.path + "/"
        self._access_log = access_log

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if (environ.get("REQUEST_METHOD") != "GET" or not path.startswith(self._prefix)
                or len(path) == len(self._prefix) or any(h in environ for h in _CONDITIONAL)):
            return self._app(environ, start_response)
        started = time.perf_counter()
        rid = observe.checked_id(environ.get("HTTP_X_REQUEST_ID", ""))
        remote = environ.get("REMOTE_ADDR")
        token = logs.bind_request(rid, remote)
        try:
            answer = self._responder.respond(decode_get(path[len(self._prefix):]))
            headers = ocsp_headers(self._env, answer)
        except Exception:  # noqa: BLE001 - never seen (respond answers every failure); Flask's errors then
            log.exception("OCSP GET failed beneath Flask; handing it to Flask")
            return self._app(environ, start_response)
        finally:
            logs.unbind_request(token)
        headers += [("Content-Length", str(len(answer.der))), (observe.HEADER, rid)]
        start_response("200 OK", headers)
        elapsed = time.perf_counter() - started
        observe.count(ENDPOINT, "GET", 200, elapsed)
        if self._access_log:
            observe.log_access("GET", path, 200, len(answer.der), elapsed, rid, remote)
        return [answer.der]
