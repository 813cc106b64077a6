"""``content_type``: the wrong Content-Type - and, optionally, a body to match.

Models a captive portal or SSO gateway answering with an HTML login page (status 200!), a
misconfigured server labelling XML as ``text/plain``, or a JSON API on the wrong URL. At
``response`` the upstream's body is kept (only the header lies) unless ``body`` is given; at
``request`` the upstream is never asked and ``body`` (default: an HTML login page) is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from harness.faults._spec import MAX_BODY_CHARS, finish, params
from harness.faults._types import FaultBase, Phase

if TYPE_CHECKING:
    from harness.faults._types import FaultContext

LOGIN_PAGE = (
    "<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body>"
    '<form method="post" action="/login"><input name="username"><input name="password" '
    'type="password"><button>Sign in</button></form></body></html>\n'
)


@dataclass(frozen=True)
class ContentType(FaultBase):
    """``content_type`` (default ``text/html; charset=utf-8``), ``status`` (default 200), ``body``."""

    kind: ClassVar[str] = "content_type"
    phases: ClassVar[tuple[Phase, ...]] = ("response", "request")

    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    body: str | None = None

    @classmethod
    def from_spec(cls, spec: Any) -> ContentType:
        r = params(spec)
        fault = cls(
            content_type=r.text("content_type", cls.content_type, non_empty=True),
            status=r.integer("status", 200, low=200, high=599),
            body=r.text("body", None, max_len=MAX_BODY_CHARS),
        )
        finish(r, cls.kind)
        return fault

    async def apply(self, fx: FaultContext) -> None:
        if self.body is not None:
            body = self.body.encode()
        elif fx.phase == "response":
            body = fx.reply().body
        else:
            body = LOGIN_PAGE.encode()
        fx.respond(self.status, [("Content-Type", self.content_type)], body)


FAULT = ContentType
