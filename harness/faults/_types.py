"""The types shared by the fault modules and the addon's runtime (no mitmproxy imports)."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Protocol

Phase = Literal["connect", "tls", "request", "response"]
PHASES: tuple[Phase, ...] = ("connect", "tls", "request", "response")

#: How a raw response ends once its body (or the part of it that is sent) is out.
Then = Literal["complete", "hang", "close", "reset"]


class FaultError(RuntimeError):
    """A fault could not act (a bug, or a fault used where it cannot work); its flow is killed."""


class MutationSkipped(Exception):
    """A body mutation found nothing to mutate (e.g. the upstream answered with non-XML).

    The response then passes unchanged and the journal's ``fault.skipped`` says why.
    """


@dataclass(frozen=True)
class Reply:
    """A response as faults see it: status, headers in order, and the decoded body."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or ``None``."""
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return None


@dataclass(frozen=True)
class RequestView:
    """What a fault may know about the request it acts on."""

    method: str
    path: str
    params: Mapping[str, Sequence[str]]
    operation: str

    def param(self, name: str) -> str | None:
        """The first value of query parameter ``name``, or ``None``."""
        values = self.params.get(name)
        return values[0] if values else None


class FaultContext(Protocol):
    """What a fault can do to the attempt it fires on (implemented by the addon's runtime)."""

    phase: Phase
    mode: str
    seq: int
    rng: random.Random
    max_hang_s: float
    request: RequestView | None
    #: Scratch space of the rule that fired, kept across its attempts (cleared on load/reset).
    state: dict[str, Any]

    def note(self, **facts: Any) -> None:
        """Add facts (e.g. the delay actually drawn) to the journal's ``fault.params``."""

    async def sleep(self, seconds: float) -> bool:
        """Wait; ``False`` if the client went away meanwhile (the attempt then ends)."""

    async def hang(self, max_s: float | None = None) -> None:
        """Say nothing until the client gives up, or close after ``max_s`` (capped)."""

    async def close(self) -> None:
        """End the client connection with a FIN (after anything already written is out)."""

    async def reset(self) -> None:
        """End the client connection with an RST (after anything already written is out)."""

    def respond(self, status: int, headers: Sequence[tuple[str, str]], body: bytes) -> None:
        """Answer with this response instead of (or in place of) the upstream's."""

    def reply(self) -> Reply:
        """The upstream's response (``response`` phase only)."""

    async def send_raw(
        self,
        status: int,
        headers: Sequence[tuple[str, str]],
        body: Iterable[bytes],
        *,
        content_length: int | None,
        limit: int | None = None,
        bytes_per_s: float | None = None,
        chunk_bytes: int | None = None,
        then: Then = "complete",
        max_hang_s: float | None = None,
    ) -> None:
        """Write a response on the wire byte by byte, paced, cut, then ended as ``then``."""

    def forward_to(self, path: str) -> None:
        """Send the request upstream with ``path`` (the query kept) instead of the client's
        (``request`` phase only); the journal keeps the path the client sent."""

    def canary_url(self, token: str) -> str:
        """The URL of canary ``token`` on the proxy's canary listener (hits are recorded)."""

    def present_certificate(self, kind: str) -> None:
        """Offer a bad certificate (``expired``, ``wrong-host``, ``untrusted-ca``) in the handshake."""


class Fault(Protocol):
    """One fault kind's parameter record."""

    kind: ClassVar[str]
    phases: ClassVar[tuple[Phase, ...]]

    def params(self) -> dict[str, Any]:
        """The parameters as ``from_spec`` accepts them back (defaults included, ``None`` left out)."""
        ...

    async def apply(self, fx: FaultContext) -> None:
        """Act on the attempt."""


class FaultBase:
    """Shared by every parameter dataclass: ``params()`` is what ``from_spec`` accepts back."""

    def params(self) -> dict[str, Any]:
        """The non-``None`` fields as a scenario writes them (headers as a mapping)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            name, value = f.name, getattr(self, f.name)
            if value is None:
                continue
            if name == "headers":
                if not value:
                    continue
                value = dict(value)
            out[name] = value
        return out
