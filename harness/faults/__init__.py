"""The fault kinds, registered in one table.

Each kind lives in its own module: a frozen parameter dataclass with ``from_spec(spec)`` (the
parameters read through :class:`harness.fields.Fields`: inside a scenario its errors name the
file, line and field; from a plain mapping they are :class:`SpecError`), ``params()`` (the mapping
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

from harness._yaml import show
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
from harness.faults._spec import SpecError, params
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
from harness.fields import Fields

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
    except (KeyError, TypeError):
        raise SpecError("kind", _unknown(kind)) from None


def fault_from_spec(spec: Fields | Mapping[str, Any]) -> Fault:
    """Build a fault from ``{"kind": ..., **params}`` (a mapping, or the
    :class:`~harness.fields.Fields` of one); the error names the bad field."""
    r = params(spec)
    kind = r.raw("kind")
    if not isinstance(kind, str):
        raise r.fail("kind", f"expected a fault kind name, got {show(kind)}")
    if kind not in KINDS:
        raise r.fail("kind", _unknown(kind))
    fault: Fault = KINDS[kind].from_spec(r)
    return fault


def _unknown(kind: Any) -> str:
    name = repr(kind[:40]) if isinstance(kind, str) else show(kind)
    return f"unknown fault kind {name} (known: {', '.join(sorted(KINDS))})"
