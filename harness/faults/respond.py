"""``respond``: answer with any status, headers and body, in the proxy's name.

The general tool: a 404 for a wrong instance (seed scenario 2), a 500, an HTML error page, or
any document the contract suite wants a client to parse. At ``request`` the upstream never
sees the request; at ``response`` it has processed it and its answer is replaced. ``body``
is text (sent as UTF-8); ``body_base64`` is any bytes (hostile documents: bad encodings,
control characters); ``body_file`` reads bytes from a file when the fault fires. A scenario
file may name only files in its own directory (see ``docs/scenarios.md``); the scenario parser
keeps the file's real path, and the fault refuses to read it if that path has since become a
symbolic link or something other than a regular file. Content-Type defaults to
application/xml when there is a body and no such header.

``content_length`` announces a longer body than is sent and ``then`` (close, reset or hang)
ends the connection after the body: a complete document delivered, but short of what was
announced - the reply a careless client takes for an answer (contract T7).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import errno
import os
import stat
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from harness.faults._response import with_content_type
from harness.faults._spec import MAX_BODY_CHARS, finish, headers, params
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
        r = params(spec)
        fault = cls(
            status=r.integer("status", 200, low=100, high=599),
            headers=headers(r),
            body=r.text("body", None, max_len=MAX_BODY_CHARS),
            body_base64=r.text("body_base64", None, max_len=2 * MAX_BODY_CHARS),
            body_file=r.text("body_file", None, non_empty=True, max_len=4096),
            content_length=r.integer("content_length", None, low=0),
            then=r.choice("then", ("close", "reset", "hang"), None),
        )
        given = [n for n in ("body", "body_base64", "body_file") if getattr(fault, n) is not None]
        if len(given) > 1:
            raise r.fail(
                given[1], f"give only one of body, body_base64 and body_file (also got {given[0]})"
            )
        if fault.body_base64 is not None:
            try:
                base64.b64decode(fault.body_base64, validate=True)
            except (binascii.Error, ValueError):
                raise r.fail("body_base64", "is not valid base64") from None
        if fault.content_length is not None and fault.body_file is None:
            size = len(fault.payload())
            if fault.content_length < size:
                raise r.fail("content_length", f"must be at least the body's {size} bytes")
        finish(r, cls.kind)
        return fault

    def payload(self) -> bytes:
        """The body to send (``body_file`` is read now, so a vanished file fails this flow only)."""
        if self.body_file is not None:
            return read_body_file(self.body_file)
        if self.body_base64 is not None:
            return base64.b64decode(self.body_base64)
        return (self.body or "").encode()

    def inlined(self) -> Respond:
        """The same fault with the body file's bytes in ``body_base64`` (self-contained)."""
        if self.body_file is None:
            return self
        encoded = base64.b64encode(self.payload()).decode("ascii")
        return dataclasses.replace(self, body_file=None, body_base64=encoded)

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


#: The largest body file a fault reads.
MAX_BODY_FILE_BYTES = 64 << 20


def read_body_file(path: str) -> bytes:
    """The bytes of the body file at ``path``: the absolute, link-free path the scenario
    parser checked. Refused (an ``OSError``) if a component of it has become a symbolic link
    since, if it is not a regular file, or if it holds more than :data:`MAX_BODY_FILE_BYTES`."""
    if os.path.realpath(path) != path:
        raise OSError(errno.ELOOP, "the body file's path is not its real path any more", path)
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "the body file is not a regular file", path)
        chunks, size = [], 0
        while chunk := os.read(fd, min(1 << 20, MAX_BODY_FILE_BYTES + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_BODY_FILE_BYTES:
                raise OSError(
                    errno.EFBIG, f"the body file is larger than {MAX_BODY_FILE_BYTES} bytes", path
                )
    finally:
        os.close(fd)
    return b"".join(chunks)


FAULT = Respond
