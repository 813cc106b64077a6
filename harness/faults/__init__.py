"""The fault kinds, registered in one table.

Each kind lives in its own module: a frozen parameter dataclass with ``from_spec(mapping)``
(raising :class:`SpecError`, a ``ValueError`` naming the field), ``params()`` (the mapping
``from_spec`` accepts back) and an ``apply(fx)`` coroutine that acts through a
:class:`FaultContext` - the small interface the addon implements over a live mitmproxy flow.
Fault modules import nothing from mitmproxy, so scenarios validate without it.

``phases`` says where a kind can act, the first being its default:

* ``connect`` - at the CONNECT request (regular mode) or when the TCP connection is accepted
  (reverse mode);
* ``tls`` - when the client's TLS ClientHello has arrived;
* ``request`` - when the whole request has arrived, before the upstream sees it;
* ``response`` - when the upstream's whole response has arrived, before the client sees it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.faults import close as close
from harness.faults import connect_refuse as connect_refuse
from harness.faults import content_type as content_type
from harness.faults import delay as delay
from harness.faults import hang as hang
from harness.faults import oversize as oversize
from harness.faults import paging_loop as paging_loop
from harness.faults import partial as partial
from harness.faults import redirect as redirect
from harness.faults import reset as reset
from harness.faults import respond as respond
from harness.faults import retry_after as retry_after
from harness.faults import tls_bad_cert as tls_bad_cert
from harness.faults import trickle as trickle
from harness.faults import unauthorized as unauthorized
from harness.faults import wrong_instance as wrong_instance
from harness.faults import xml_bomb as xml_bomb
from harness.faults import xml_drop_element as xml_drop_element
from harness.faults import xml_duplicate as xml_duplicate
from harness.faults import xml_encoding as xml_encoding
from harness.faults import xml_illegal_chars as xml_illegal_chars
from harness.faults import xml_truncate as xml_truncate
from harness.faults import xml_undeclared_prefix as xml_undeclared_prefix
from harness.faults import xml_wrong_root as xml_wrong_root
from harness.faults import xml_wrong_type as xml_wrong_type
from harness.faults import xml_xxe as xml_xxe
from harness.faults._spec import SpecError
from harness.faults._types import (
    PHASES,
    Fault,
    FaultContext,
    FaultError,
    MutationSkipped,
    Phase,
    Reply,
    RequestView,
    Then,
)

__all__ = [
    "KINDS",
    "PHASES",
    "Fault",
    "FaultContext",
    "FaultError",
    "MutationSkipped",
    "Phase",
    "Reply",
    "RequestView",
    "SpecError",
    "Then",
    "fault_class",
    "fault_from_spec",
]

_MODULES = (
    delay,
    hang,
    close,
    reset,
    connect_refuse,
    tls_bad_cert,
    respond,
    unauthorized,
    retry_after,
    redirect,
    wrong_instance,
    partial,
    trickle,
    oversize,
    content_type,
    xml_truncate,
    xml_wrong_root,
    xml_drop_element,
    xml_wrong_type,
    xml_duplicate,
    xml_encoding,
    xml_illegal_chars,
    xml_undeclared_prefix,
    xml_xxe,
    xml_bomb,
    paging_loop,
)

#: Every fault kind by name - the one table the proxy and the scenario parser consult.
KINDS: dict[str, Any] = {m.FAULT.kind: m.FAULT for m in _MODULES}


def fault_class(kind: str) -> Any:
    """The parameter class of ``kind``; ``SpecError`` if there is no such kind."""
    try:
        return KINDS[kind]
    except KeyError:
        raise SpecError(
            "kind", f"unknown fault kind {kind!r} (known: {', '.join(sorted(KINDS))})"
        ) from None


def fault_from_spec(spec: Mapping[str, Any]) -> Fault:
    """Build a fault from ``{"kind": ..., **params}``; ``SpecError`` names the bad field."""
    if not isinstance(spec, Mapping):
        raise SpecError("fault", f"must be a mapping with a 'kind', got {spec!r}")
    kind = spec.get("kind")
    if not isinstance(kind, str):
        raise SpecError("kind", "is required (a fault kind name)")
    fault: Fault = fault_class(kind).from_spec(spec)
    return fault
