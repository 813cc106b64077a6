"""``unauthorized``: 401 with a Basic ``WWW-Authenticate`` challenge, as Jamf Pro sends it.

Models seed scenario 3: the API user is missing, lacks privileges, or Jamf Pro has API Basic
authentication switched off (the default since 10.35) - every request gets 401 whatever the
credentials. A correct client reports ``unauthorized`` and does not hammer the server.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from harness.faults._response import XML_CONTENT_TYPE, error_document
from harness.faults._spec import finish, params
from harness.faults._types import FaultBase, Phase

if TYPE_CHECKING:
    from harness.faults._types import FaultContext


@dataclass(frozen=True)
class Unauthorized(FaultBase):
    """``www_authenticate`` (the challenge; empty = none), ``message`` for the error body."""

    kind: ClassVar[str] = "unauthorized"
    phases: ClassVar[tuple[Phase, ...]] = ("request", "response")

    www_authenticate: str = 'Basic realm="Jamf Pro", charset="UTF-8"'
    message: str = "The request requires user authentication"

    @classmethod
    def from_spec(cls, spec: Any) -> Unauthorized:
        r = params(spec)
        fault = cls(
            www_authenticate=r.text("www_authenticate", cls.www_authenticate),
            message=r.text("message", cls.message),
        )
        finish(r, cls.kind)
        return fault

    async def apply(self, fx: FaultContext) -> None:
        headers = [("Content-Type", XML_CONTENT_TYPE)]
        if self.www_authenticate:
            headers.append(("WWW-Authenticate", self.www_authenticate))
        fx.respond(401, headers, error_document(401, self.message))


FAULT = Unauthorized
