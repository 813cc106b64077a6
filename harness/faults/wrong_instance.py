"""``wrong_instance``: send the request to another instance of the MDM, which does not know it.

Models a wrong "Instance Name" in the client's MDM settings (seed scenario 2): for Jamf Pro the
instance is ``/networkIntegrationEndpoint/ID`` in front of discovery (and ``/ID`` in front of
``api_path``), and a wrong ID gets Jamf's own 404. The fault replaces everything in front of
the path's ``/ciscoise/`` with ``instance`` before the request goes upstream, so the answer is
the MDM's own - status, headers and body as the MDM sends them, the way the real failure
looks - and the MDM's log shows the request. The journal keeps the path the client sent; the
path forwarded is in ``fault.params.forwarded_path``. A path without ``/ciscoise/`` is not an
ISE MDM API call and passes unchanged (``fault.skipped``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from harness.faults._spec import finish, params
from harness.faults._types import FaultBase, FaultError, MutationSkipped, Phase

if TYPE_CHECKING:
    from harness.faults._types import FaultContext

#: Where the instance ends in every ISE MDM API path.
API_ROOT = "/ciscoise/"


@dataclass(frozen=True)
class WrongInstance(FaultBase):
    """``instance``: the instance prefix to send instead of the client's (default
    ``/networkIntegrationEndpoint/0``, an ID no Jamf Pro hands out); ``""`` for none."""

    kind: ClassVar[str] = "wrong_instance"
    phases: ClassVar[tuple[Phase, ...]] = ("request",)

    instance: str = "/networkIntegrationEndpoint/0"

    @classmethod
    def from_spec(cls, spec: Any) -> WrongInstance:
        r = params(spec)
        fault = cls(instance=r.text("instance", cls.instance, max_len=1000))
        if fault.instance and (not fault.instance.startswith("/") or fault.instance.endswith("/")):
            raise r.fail("instance", "must start with '/' and not end with '/' (or be empty)")
        if "?" in fault.instance or "#" in fault.instance or API_ROOT in fault.instance + "/":
            raise r.fail("instance", f"must be a path prefix, without '?', '#' or {API_ROOT!r}")
        if any(c.isspace() or ord(c) < 32 for c in fault.instance):
            raise r.fail("instance", "must not contain white space or control characters")
        finish(r, cls.kind)
        return fault

    def rewrite(self, path: str) -> str:
        """``path`` with its instance (what comes before ``/ciscoise/``) replaced."""
        at = path.find(API_ROOT)
        if at < 0:
            raise MutationSkipped(f"the path has no {API_ROOT!r}: not an ISE MDM API call")
        return self.instance + path[at:]

    async def apply(self, fx: FaultContext) -> None:
        if fx.request is None:
            raise FaultError("wrong_instance needs the request (phase request)")
        forwarded = self.rewrite(fx.request.path)
        fx.note(forwarded_path=forwarded)
        fx.forward_to(forwarded)


FAULT = WrongInstance
