"""``paging_loop``: the paging cursor repeats forever.

Models a buggy MDM whose cursor never advances (or cycles): page after page, ``paging_info``
sends the client back to a cursor it has already used. A client that follows blindly never
finishes; a correct one notices the repeat and stops with a protocol error.

On a later page the cursor the client just sent is sent back. On the first page
(``paging=0``) the upstream's own cursor is kept when the listing has more pages; when the
upstream says the listing is complete, the fault invents ``cursor`` and remembers that page,
so that when the client asks for the invented cursor (which the upstream rejects) it gets the
same page - and the same cursor - again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from lxml import etree

from harness.faults import _xml
from harness.faults._spec import finish, params
from harness.faults._types import FaultBase, Phase, Reply, RequestView

if TYPE_CHECKING:
    from harness.faults._types import FaultContext


def request_cursor(request: RequestView | None) -> str | None:
    """The cursor a device query carried: ``?paging=`` (v2/v3) or the segment after ``devices/`` (v1)."""
    if request is None:
        return None
    cursor = request.param("paging")
    if cursor is not None:
        return cursor
    parts = request.path.split("/")
    for i, part in enumerate(parts[:-1]):
        if part in ("devices", "batchdevices") and parts[i + 1]:
            return parts[i + 1]
    return None


@dataclass(frozen=True)
class PagingLoop(FaultBase):
    """``cursor``: the cursor to invent when the first page is also the last (default ``1``)."""

    kind: ClassVar[str] = "paging_loop"
    phases: ClassVar[tuple[Phase, ...]] = ("response",)

    cursor: str = "1"

    @classmethod
    def from_spec(cls, spec: Any) -> PagingLoop:
        r = params(spec)
        fault = cls(cursor=r.text("cursor", "1", non_empty=True))
        if fault.cursor == "0":
            raise r.fail("cursor", "must not be 0 (0 means the listing is complete)")
        finish(r, cls.kind)
        return fault

    def rewrite(self, body: bytes, sent: str | None) -> tuple[bytes, str]:
        """``body`` with ``paging_info`` pointing back; returns the body and the cursor used."""
        root = _xml.parse(body)
        if not _xml.find_all(root, "deviceList"):
            raise _xml.MutationSkipped("the upstream body is not a device listing")
        found = _xml.find_all(root, "paging_info")
        if found:
            info = found[0]
        else:
            info = etree.Element("paging_info")
            root[len(root) - 1].addprevious(info)
        own = (info.text or "").strip()
        if sent not in (None, "", "0"):
            cursor = str(sent)
        else:
            cursor = own if own not in ("", "0") else self.cursor
        info.text = cursor
        return _xml.serialize(root), cursor

    async def apply(self, fx: FaultContext) -> None:
        reply = fx.reply()
        sent = request_cursor(fx.request)
        remembered: Reply | None = fx.state.get(f"page:{sent}")
        if reply.status != 200 and remembered is not None:
            # The upstream rejected the cursor we invented: serve the remembered page again.
            fx.note(cursor=sent, replayed=True)
            fx.respond(remembered.status, remembered.headers, remembered.body)
            return
        body, cursor = self.rewrite(reply.body, sent)
        if cursor == self.cursor and sent in (None, "", "0"):
            fx.state[f"page:{cursor}"] = Reply(reply.status, reply.headers, body)
        fx.note(cursor=cursor)
        fx.respond(reply.status, reply.headers, body)


FAULT = PagingLoop
