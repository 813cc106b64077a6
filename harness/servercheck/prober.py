"""The harness's side of the conversation: requests to the server, through the harness's proxy.

:func:`start_proxy` starts the fault proxy in front of the server - regular mode, no scenario,
pass-through - so its journal records every exchange; with ``--proxy`` the upstream connections
go on through ISE's proxy (:mod:`harness.servercheck.chain`). :class:`Prober` sends
:class:`~harness.servercheck.model.Probe` s through it with httpx, trusting only the harness CA
(the proxy's certificates) and nothing from the environment, and returns
:class:`~harness.servercheck.model.Exchange` s.

Every request first takes its turn from the run's :class:`~harness.servercheck.pace.Pacer`
(the rate cap and the plan's total) and from its case's
:class:`~harness.servercheck.pace.Budget`. A method other than GET is refused unless the
prober was built with ``allow_actions`` - a second lock behind the session's own.
"""

from __future__ import annotations

import concurrent.futures
import secrets
import ssl
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from harness.proxy import FaultProxy
from harness.tls import CertificateAuthority

from .model import Exchange, Probe
from .pace import Budget, Pacer
from .target import Target

__all__ = ["CHAIN_ADDON_PATH", "Prober", "SafetyError", "start_proxy"]

#: The addon that chains the harness's proxy to ISE's proxy.
CHAIN_ADDON_PATH = Path(__file__).with_name("chain.py")
_USER_AGENT = "mdm-harness-certify-server"


class SafetyError(RuntimeError):
    """A request the run's safety rules forbid (an action without --allow-actions): not sent."""


class _ChainedFaultProxy(FaultProxy):
    """The fault proxy with the chaining addon loaded after the harness addon."""

    def command(self, ready_file: Path) -> list[str]:
        command = super().command(ready_file)
        at = command.index("-s") + 2
        return [*command[:at], "-s", str(CHAIN_ADDON_PATH), *command[at:]]


def start_proxy(target: Target, ca: CertificateAuthority, state_dir: Path) -> FaultProxy:
    """The harness's pass-through proxy in front of ``target``, started."""
    kwargs: dict[str, Any] = {
        "upstream": target.origin,
        "ca": ca,
        "mode": "regular",
        "upstream_ca": target.upstream_ca(),
        "state_dir": state_dir,
    }
    if target.proxy:
        proxy: FaultProxy = _ChainedFaultProxy(
            extra_options=[f"harness_chain_proxy={target.proxy}"], **kwargs
        )
    else:
        proxy = FaultProxy(**kwargs)
    return proxy.start()


class Prober:
    """Sends probes to the server's origin through the harness's proxy."""

    def __init__(
        self,
        target: Target,
        *,
        proxy_url: str,
        proxy_ca: Path,
        pacer: Pacer,
        wait_s: float,
        allow_actions: bool = False,
        max_connections: int = 64,
    ) -> None:
        self.target = target
        self.pacer = pacer
        self.wait_s = wait_s
        self.allow_actions = allow_actions
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.load_verify_locations(cafile=str(proxy_ca))
        self._wrong = f"{target.password}-not-{secrets.token_hex(4)}"
        self._client = httpx.Client(
            proxy=proxy_url,
            verify=context,
            trust_env=False,
            follow_redirects=False,
            timeout=httpx.Timeout(wait_s),
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            headers={"Accept": "application/xml", "User-Agent": _USER_AGENT},
        )

    def close(self) -> None:
        self._client.close()

    def _auth(self, probe: Probe) -> tuple[str, str] | None:
        if probe.auth == "none":
            return None
        if probe.auth == "wrong-password":
            return (self.target.username, self._wrong)
        return (self.target.username, self.target.password)

    def _check(self, probe: Probe) -> None:
        if probe.method != "GET" and not self.allow_actions:
            raise SafetyError(
                f"{probe.method} {probe.target} refused: only GET is sent without --allow-actions"
            )

    def send(self, probe: Probe, budget: Budget, target: str | None = None) -> Exchange:
        """Send one probe (``target`` overrides its path and query: a walk's next page)."""
        self._check(probe)
        budget.take()
        self.pacer.acquire()
        return self._exchange(probe, target or probe.target)

    def burst(self, probes: Sequence[Probe], budget: Budget) -> list[Exchange]:
        """Send ``probes`` all at once (one thread each); answers in the probes' order."""
        for probe in probes:
            self._check(probe)
        budget.take(len(probes))
        self.pacer.acquire(len(probes))
        with concurrent.futures.ThreadPoolExecutor(len(probes)) as pool:
            return list(pool.map(lambda p: self._exchange(p, p.target), probes))

    def _exchange(self, probe: Probe, target: str) -> Exchange:
        url = self.target.origin + target
        body = probe.body.encode() if probe.body is not None else None
        headers = {"Content-Type": "application/xml"} if body is not None else None
        started = time.monotonic()
        try:
            response = self._client.request(
                probe.method, url, content=body, headers=headers, auth=self._auth(probe)
            )
        except httpx.TimeoutException as exc:
            return Exchange(
                probe,
                target,
                error=f"timeout: no answer within {self.wait_s:.1f} s ({type(exc).__name__})",
                started=started,
                ended=time.monotonic(),
            )
        except httpx.HTTPError as exc:
            return Exchange(
                probe,
                target,
                error=f"connection: {type(exc).__name__}: {exc}",
                started=started,
                ended=time.monotonic(),
            )
        return Exchange(
            probe,
            target,
            status=response.status_code,
            headers=tuple((k, v) for k, v in response.headers.multi_items()),
            body=response.content,
            started=started,
            ended=time.monotonic(),
        )
