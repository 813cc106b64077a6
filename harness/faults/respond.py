"""``respond``: answer with any status, headers and body, in the proxy's name.

The general tool: a 404 for a wrong instance (seed scenario 2), a 500, an HTML error page, or
any document the contract suite wants a client to parse. At ``request`` the upstream never
sees the request; at ``response`` it has processed it and its answer is replaced. ``body``
is text (sent as UTF-8); ``body_base64`` is any bytes (hostile documents: bad encodings,
control characters); ``body_file`` reads bytes from a file when the fault fires (relative
paths are resolved against the scenario file). Content-Type defaults to application/xml when there
is a body and no such header.

``content_length`` announces a longer body than is sent and ``then`` (close, reset or hang)
ends the connection after the body: a complete document delivered, but short of what was
announced - the reply a careless client takes for an answer (contract T7).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from harness.faults._response import with_content_type
from harness.faults._spec import SpecError, SpecReader
from harness.faults._types import FaultBase, Phase, Then

if TYPE_CHECKING:
    from harness.faults._types import FaultContext


@dataclass(frozen=True)
class Respond(FaultBase):
    """``status`` (100-599, default 200), ``headers``, one of ``body``, ``body_base64``, ``body_file``;
    optionally ``content_length`` (announced, at least the body's length) and ``then``."""

    kind: ClassVar[str] = "respond"
    phases: ClassVar[tuple[Phase, ...]] = ("request", "response")

    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: str | None = None
    body_base64: str | None = None
    body_file: str | None = None
    content_length: int | None = None
    then: Then | None = None

    @classmethod
    def from_spec(cls, spec: Any) -> Respond:
        r = SpecReader(spec)
        fault = cls(
            status=r.integer("status", 200, min=100, max=599),
            headers=r.headers(),
            body=r.text("body", None),
            body_base64=r.text("body_base64", None),
            body_file=r.text("body_file", None, non_empty=True),
            content_length=r.integer("content_length", None, min=0),
            then=r.choice("then", ("close", "reset", "hang"), None),
        )
        given = [n for n in ("body", "body_base64", "body_file") if getattr(fault, n) is not None]
        if len(given) > 1:
            raise SpecError(
                given[1], f"give only one of body, body_base64 and body_file (also got {given[0]})"
            )
        if fault.body_base64 is not None:
            try:
                base64.b64decode(fault.body_base64, validate=True)
            except (binascii.Error, ValueError):
                raise SpecError("body_base64", "is not valid base64") from None
        if fault.content_length is not None and fault.body_file is None:
            size = len(fault.payload())
            if fault.content_length < size:
                raise SpecError("content_length", f"must be at least the body's {size} bytes")
        r.done()
        return fault

    def payload(self) -> bytes:
        """The body to send (``body_file`` is read now, so a vanished file fails this flow only)."""
        if self.body_file is not None:
            return Path(self.body_file).read_bytes()
        if self.body_base64 is not None:
            return base64.b64decode(self.body_base64)
        return (self.body or "").encode()

    async def apply(self, fx: FaultContext) -> None:
        body = self.payload()
        headers = with_content_type(self.headers, body)
        if self.content_length is None and self.then is None:
            fx.respond(self.status, headers, body)
            return
        announced = (
            len(body) if self.content_length is None else max(self.content_length, len(body))
        )
        fx.note(sent_bytes=len(body), announced_bytes=announced)
        await fx.send_raw(
            self.status, headers, [body], content_length=announced, then=self.then or "close"
        )


FAULT = Respond
