"""``--proxy``: ISE reaches the MDM through its own proxy, and so does the harness - its
pass-through proxy first (the journal), then ISE's (a real CONNECT relay on loopback here)."""

from __future__ import annotations

import select
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness._util import free_loopback_port
from harness.mdm import ReferenceMDM
from harness.proxy import FaultProxy
from harness.servercheck.cases import build
from harness.servercheck.session import ServerCheck, ServerUnusable
from harness.servercheck.target import Options, Target
from harness.tls import CertificateAuthority


class Relay:
    """A minimal explicit proxy: records each CONNECT line, then relays bytes both ways."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.connects: list[str] = []
        self._stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        self.server.settimeout(0.2)
        while not self._stop.is_set():
            try:
                client, _ = self.server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._tunnel, args=(client,), daemon=True).start()

    def _tunnel(self, client: socket.socket) -> None:
        with client:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = client.recv(4096)
                if not chunk:
                    return
                head += chunk
            line = head.split(b"\r\n", 1)[0].decode()
            self.connects.append(line)
            method, authority, _ = line.split(" ", 2)
            host, port = authority.rsplit(":", 1)
            if method != "CONNECT":
                client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
                return
            with socket.create_connection((host, int(port)), timeout=10) as upstream:
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                pair = {client: upstream, upstream: client}
                while not self._stop.is_set():
                    ready, _, _ = select.select(list(pair), [], [], 0.2)
                    for sock in ready:
                        data = sock.recv(65536)
                        if not data:
                            return
                        pair[sock].sendall(data)

    def close(self) -> None:
        self._stop.set()
        self.server.close()


@pytest.fixture
def relay() -> Iterator[Relay]:
    r = Relay()
    yield r
    r.close()


@pytest.fixture(scope="module")
def mdm(ca: CertificateAuthority) -> Iterator[ReferenceMDM]:
    with ReferenceMDM(ca=ca, devices=20, seed=2) as server:
        yield server


def test_requests_go_through_ise_s_proxy_and_are_journaled(
    mdm: ReferenceMDM, ca: CertificateAuthority, relay: Relay, tmp_path: Path
) -> None:
    target = Target.checked(
        mdm.base_url,
        mdm.username,
        mdm.password,
        ca=ca.bundle_path,
        proxy=f"http://127.0.0.1:{relay.port}",
    )
    mdm.reset_records()
    with ServerCheck(target, Options(rate=0, seed=3, profile="quick"), state_dir=tmp_path) as check:
        assert check.preflight().status == 200
        verdict, exchanges = check.run(build("D1", check.site, check.options, 3))
    assert verdict.status == "holds"
    assert relay.connects and all(
        c == f"CONNECT 127.0.0.1:{mdm.port} HTTP/1.1" for c in relay.connects
    )
    assert exchanges[0].attempt is not None and exchanges[0].attempt.status == 200  # journaled
    assert mdm.request_count >= 2  # it reached the MDM


def test_a_proxy_that_is_down_makes_the_server_unreachable(
    mdm: ReferenceMDM, ca: CertificateAuthority, tmp_path: Path
) -> None:
    target = Target.checked(
        mdm.base_url,
        mdm.username,
        mdm.password,
        ca=ca.bundle_path,
        proxy=f"http://127.0.0.1:{free_loopback_port()}",
    )
    with (
        ServerCheck(target, Options(rate=0), state_dir=tmp_path) as check,
        pytest.raises(ServerUnusable, match="cannot be reached"),
    ):
        check.preflight()


def test_without_a_proxy_nothing_goes_through_one(
    zoo_target: Target, zoo_proxy: FaultProxy, relay: Relay, tmp_path: Path
) -> None:
    # The zoo's pass-through proxy was started for a target without --proxy, as this one is.
    assert zoo_target.proxy is None
    with ServerCheck(zoo_target, Options(rate=0), state_dir=tmp_path, proxy=zoo_proxy) as check:
        assert check.preflight().status == 200
    assert relay.connects == []  # the control: the relay is only used when asked
