"""``oversize``: an enormous (but well-formed) attributes document, streamed.

Models an MDM that ignores paging and sends every device at once, or a misrouted download:
a client must bound what it reads into memory and fail cleanly. The body - ``bytes`` long,
announced by Content-Length - is generated on the fly (never held in memory): a valid
``<ise_api>`` reply whose ``deviceList`` repeats one device until the size is reached.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from harness.faults._response import XML_CONTENT_TYPE
from harness.faults._spec import finish, params
from harness.faults._types import FaultBase, Phase

if TYPE_CHECKING:
    from harness.faults._types import FaultContext

_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<ise_api><name>attributes</name>'
    b"<api_version>3</api_version><paging_info>0</paging_info><deviceList>"
)
_TAIL = b"</deviceList></ise_api>\n"
_DEVICE = (
    b"<device><guid>00000000-0000-4000-8000-000000000000</guid><attributes>"
    b"<register_status>true</register_status><compliance><status>true</status></compliance>"
    b"<disk_encryption_on>true</disk_encryption_on><pin_lock_on>true</pin_lock_on>"
    b"<jail_broken>false</jail_broken><model>filler</model></attributes></device>"
)


@dataclass(frozen=True)
class Oversize(FaultBase):
    """``bytes``: the body size (default 64 MiB, at most 4 GiB)."""

    kind: ClassVar[str] = "oversize"
    phases: ClassVar[tuple[Phase, ...]] = ("request", "response")

    bytes: int = 64 << 20

    @classmethod
    def from_spec(cls, spec: Any) -> Oversize:
        r = params(spec)
        fault = cls(bytes=r.integer("bytes", 64 << 20, low=len(_HEAD) + len(_TAIL), high=4 << 30))
        finish(r, cls.kind)
        return fault

    def chunks(self, chunk_bytes: int = 1 << 16) -> Iterator[builtins.bytes]:
        """The body in pieces of about ``chunk_bytes``; exactly ``bytes`` in total."""
        yield _HEAD
        filler = self.bytes - len(_HEAD) - len(_TAIL)
        devices = filler // len(_DEVICE)
        per_chunk = max(1, chunk_bytes // len(_DEVICE))
        block = _DEVICE * per_chunk
        while devices >= per_chunk:
            yield block
            devices -= per_chunk
        yield _DEVICE * devices
        # Pad with white space (allowed between elements) to hit the size exactly.
        yield b" " * (filler % len(_DEVICE))
        yield _TAIL

    async def apply(self, fx: FaultContext) -> None:
        await fx.send_raw(
            200,
            [("Content-Type", XML_CONTENT_TYPE)],
            self.chunks(),
            content_length=self.bytes,
        )


FAULT = Oversize
