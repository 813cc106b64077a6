"""The lab a client is run in: one CA, the reference MDM and a long-lived fault proxy in front
of it, started and stopped together.

:class:`~harness.contracts.session.ContractHarness` (a contract case: scenario, run, verdict)
and :class:`~harness.certify.infer.ProbeHarness` (a ``policy infer`` probe: scenario, run,
observation) are both a :class:`Lab` with their own use of it.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from types import TracebackType
from typing import Any

from harness.client.protocol import ClientEnv
from harness.tls import CertificateAuthority

#: The user the reference MDM knows; the password is drawn per lab (S5 looks for it).
USERNAME = "ise-harness"


class Lab:
    """A CA, the reference MDM (``mdm_options`` as :class:`~harness.mdm.ReferenceMDM` takes
    them) and the fault proxy in front of it; a context manager."""

    def __init__(self, state_dir: Path, **mdm_options: Any) -> None:
        self.state_dir = Path(state_dir)
        self.password = "Pw-" + secrets.token_urlsafe(12)
        self._mdm_options = mdm_options
        self.ca: CertificateAuthority | None = None
        self.mdm: Any = None
        self.proxy: Any = None

    def __enter__(self) -> Any:
        from harness.mdm import ReferenceMDM
        from harness.proxy import FaultProxy

        self.ca = CertificateAuthority.load_or_create(self.state_dir / "ca")
        self.mdm = ReferenceMDM(
            state_dir=self.state_dir / "mdm",
            ca=self.ca,
            username=USERNAME,
            password=self.password,
            **self._mdm_options,
        ).start()
        try:
            self.proxy = FaultProxy(
                upstream=self.mdm.origin, ca=self.ca, state_dir=self.state_dir / "proxy"
            ).start()
        except BaseException:
            self.mdm.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self.proxy is not None:
                self.proxy.stop()
        finally:
            if self.mdm is not None:
                self.mdm.stop()

    def client_env(self, timeout_ms: int) -> ClientEnv:
        """What the client under test is given: the MDM through the proxy, the lab's CA."""
        assert self.ca is not None
        return ClientEnv(
            base_url=self.mdm.public_base_url,
            username=USERNAME,
            password=self.password,
            proxy=self.proxy.url,
            ca_bundle=self.ca.bundle_path,
            timeout_ms=timeout_ms,
        )
