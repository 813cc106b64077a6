"""``delay``: wait before letting the attempt go on - fixed, uniform or log-normal.

Models a slow MDM, a congested link or an overloaded proxy. At ``request`` the upstream sees
the request late; at ``response`` the upstream has answered and the client waits for it; at
``connect`` the CONNECT answer (reverse mode: the first byte) comes late; at ``tls`` the
ServerHello does. The delay drawn is recorded as ``fault.params.drawn_ms``, the time actually
waited as ``slept_ms`` (shorter when the client gave up first).
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from harness.faults._spec import finish, params
from harness.faults._types import FaultBase, Phase

if TYPE_CHECKING:
    from harness.faults._types import FaultContext

#: The longest delay a scenario may ask for (10 minutes).
MAX_DELAY_MS = 600_000

Distribution = Literal["fixed", "uniform", "lognormal"]


@dataclass(frozen=True)
class Delay(FaultBase):
    """``delay_ms`` (fixed), ``min_ms``..``max_ms`` (uniform) or ``median_ms``/``sigma`` (log-normal, capped by ``max_ms``)."""

    kind: ClassVar[str] = "delay"
    phases: ClassVar[tuple[Phase, ...]] = ("request", "response", "connect", "tls")

    distribution: Distribution = "fixed"
    delay_ms: int | None = None
    min_ms: int | None = None
    max_ms: int | None = None
    median_ms: int | None = None
    sigma: float | None = None

    @classmethod
    def from_spec(cls, spec: Any) -> Delay:
        r = params(spec)
        ms = {"low": 0, "high": MAX_DELAY_MS}
        dist = r.choice("distribution", ("fixed", "uniform", "lognormal"), "fixed")
        if dist == "fixed":
            fault = cls(delay_ms=r.integer("delay_ms", **ms))
        elif dist == "uniform":
            low, high = r.integer("min_ms", **ms), r.integer("max_ms", **ms)
            if high < low:
                raise r.fail("max_ms", f"must be at least min_ms ({low}), got {high}")
            fault = cls(distribution="uniform", min_ms=low, max_ms=high)
        else:
            fault = cls(
                distribution="lognormal",
                median_ms=r.integer("median_ms", low=1, high=MAX_DELAY_MS),
                sigma=r.number("sigma", 0.5, low=0.0, high=5.0),
                max_ms=r.integer("max_ms", MAX_DELAY_MS, **ms),
            )
        finish(r, cls.kind)
        return fault

    def draw_ms(self, rng: random.Random) -> float:
        """One delay in milliseconds, drawn from this distribution with ``rng``."""
        if self.distribution == "uniform":
            assert self.min_ms is not None and self.max_ms is not None
            return rng.uniform(self.min_ms, self.max_ms)
        if self.distribution == "lognormal":
            assert self.median_ms is not None and self.sigma is not None
            cap = float(self.max_ms if self.max_ms is not None else MAX_DELAY_MS)
            return min(cap, rng.lognormvariate(math.log(self.median_ms), self.sigma))
        assert self.delay_ms is not None
        return float(self.delay_ms)

    async def apply(self, fx: FaultContext) -> None:
        ms = self.draw_ms(fx.rng)
        fx.note(drawn_ms=round(ms, 3))
        start = time.monotonic()
        await fx.sleep(ms / 1000)
        fx.note(slept_ms=round((time.monotonic() - start) * 1000, 3))


FAULT = Delay
