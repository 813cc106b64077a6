"""The canary: what an external entity in an ``xml_xxe`` document points at.

A listener of its own on loopback (never the control API's port, so an XXE document reveals
nothing else about the proxy). It serves ``GET /canary/<token>`` only, with no token - a
careless parser fetching it is the point - and records each hit in the journal's canary list:
``{"token", "seq", "time" (monotonic), "wall", "peer", "user_agent"}``. A token is
``a<seq>-<hex>`` (``.dtd`` for an external DTD, answered with an empty one), so a hit names
the attempt whose document carried it.
"""

from __future__ import annotations

import re
import time

import tornado.web

from harness.proxy.journal import Journal

_TOKEN = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


class CanaryHandler(tornado.web.RequestHandler):
    """``GET /canary/<token>``: what an external entity points at. Records the hit."""

    def initialize(self, journal: Journal) -> None:
        self.journal = journal

    def compute_etag(self) -> None:
        return None

    def get(self, token: str) -> None:
        if not _TOKEN.match(token):
            self.set_status(400)
            self.finish(b"bad canary token\n")
            return
        peer = self.request.connection.context.address if self.request.connection else None  # type: ignore[attr-defined]
        seq = re.match(r"^a(\d+)-", token)
        self.journal.canary.append(
            {
                "token": token,
                "seq": int(seq.group(1)) if seq else None,
                "time": time.monotonic(),
                "wall": time.time(),
                "peer": f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else None,
                "user_agent": self.request.headers.get("User-Agent"),
            }
        )
        if token.endswith(".dtd"):
            self.set_header("Content-Type", "application/xml-dtd")
            self.finish(b"<!-- mdm-harness canary: this DTD was fetched, so was the entity -->\n")
        else:
            self.set_header("Content-Type", "text/plain; charset=utf-8")
            self.finish(b"mdm-harness-canary")


class _CanaryNotFound(tornado.web.RequestHandler):
    def prepare(self) -> None:
        self.set_status(404)
        self.finish(b"not found\n")


def make_canary_app(journal: Journal) -> tornado.web.Application:
    """The canary listener's one route."""
    return tornado.web.Application(
        [(r"/canary/([^/]+)", CanaryHandler, {"journal": journal})],
        default_handler_class=_CanaryNotFound,
        log_function=lambda handler: None,
    )
