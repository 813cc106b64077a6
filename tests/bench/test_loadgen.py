"""The one load generator: its job format, in a real process against real servers."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest

from harness.bench.loadgen import Job, spawn, summary
from harness.mdm import ReferenceMDM
from harness.proxy.launcher import FaultProxy
from harness.tls import CertificateAuthority

DISCOVERY = "/networkIntegrationEndpoint/7/ciscoise/mdminfo/?ise_api_version=3"
PUBLIC = "acme.jamfcloud.test"


@pytest.fixture(scope="module")
def mdm(ca: CertificateAuthority) -> Iterator[ReferenceMDM]:
    """One reference MDM for the module (the tests count requests as differences)."""
    with ReferenceMDM(ca=ca, devices=20, seed=1) as server:
        yield server


@pytest.fixture(scope="module")
def module_proxy(
    mdm: ReferenceMDM, ca: CertificateAuthority, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FaultProxy]:
    with FaultProxy(mdm.origin, ca, state_dir=tmp_path_factory.mktemp("proxy")) as proxy:
        yield proxy


@pytest.fixture
def proxy(module_proxy: FaultProxy) -> FaultProxy:
    """The module's fault proxy with no scenario and an empty journal."""
    module_proxy.control.clear_scenario()
    module_proxy.control.reset()
    return module_proxy


def _direct(mdm: ReferenceMDM, ca: CertificateAuthority, **job: object) -> dict[str, object]:
    return {
        "target": ["127.0.0.1", mdm.port],
        "ca": str(ca.bundle_path),
        "headers": {"Authorization": mdm.authorization},
        **job,
    }


def test_keep_alive_requests_are_timed_in_order(
    mdm: ReferenceMDM, ca: CertificateAuthority
) -> None:
    before = mdm.request_count
    (result,) = spawn(_direct(mdm, ca, warmup=[DISCOVERY], paths=[DISCOVERY] * 5))
    assert len(result["latencies_ns"]) == 5 and all(ns > 0 for ns in result["latencies_ns"])
    assert len(result["warmup_ns"]) == 1
    assert result["statuses"] == [[200]] * 5 and result["errors"] == [None] * 5
    assert all(result["sent"]) and all(b > 100 for b in result["bytes"])
    assert all(
        0 < f <= t for f, t in zip(result["first_byte_ns"], result["latencies_ns"], strict=True)
    )
    assert mdm.request_count - before == 6
    p50, p99, rps = summary(result)
    assert 0 < p50 <= p99 and rps > 0


def test_an_unexpected_status_is_an_error_and_strict_raises(
    mdm: ReferenceMDM, ca: CertificateAuthority
) -> None:
    job = _direct(mdm, ca, headers={}, paths=[DISCOVERY] * 2)  # no credentials: 401
    (result,) = spawn(job, strict=False)
    assert result["statuses"] == [[401], [401]]
    assert result["errors"] == ["expect: statuses [401], not [200]"] * 2
    with pytest.raises(RuntimeError, match="2 requests failed, the first: expect"):
        spawn(job)
    (judged_nothing,) = spawn({**job, "expect": None})
    assert judged_nothing["errors"] == [None, None]


def test_through_connect_until_200_with_a_reset_before_each_sample(
    mdm: ReferenceMDM, ca: CertificateAuthority, proxy: FaultProxy
) -> None:
    scenario = {
        "name": "flaky",
        "rules": [
            {
                "name": "twice",
                "match": {"operation": "mdminfo"},
                "schedule": {"sequence": ["status_503", "status_503", "pass"]},
            }
        ],
    }
    proxy.control.load_scenario(scenario)
    job = {
        "target": [PUBLIC, 443],
        "proxy": ["127.0.0.1", proxy.port],
        "ca": str(ca.bundle_path),
        "headers": {"Authorization": mdm.authorization},
        "paths": [DISCOVERY] * 3,
        "until": 200,
        "attempts": 3,
        "expect": [503, 503, 200],
        "reset": {
            "method": "POST",
            "url": f"{proxy.control.url}/reset",
            "headers": {"Authorization": f"Bearer {proxy.control.token}"},
        },
    }
    (result,) = spawn(job)
    assert result["statuses"] == [[503, 503, 200]] * 3
    # Without the reset the sequence is spent after the first sample: the check bites.
    (spent,) = spawn({**job, "reset": None}, strict=False)
    assert spent["statuses"][0] == [200]
    assert spent["errors"][0] == "expect: statuses [200], not [503, 503, 200]"


@pytest.mark.parametrize(("fresh", "connections"), [(True, 6), (False, 3)])
def test_connections_and_fresh_decide_how_many_tunnels_open(
    mdm: ReferenceMDM, ca: CertificateAuthority, proxy: FaultProxy, fresh: bool, connections: int
) -> None:
    job = {
        "target": [PUBLIC, 443],
        "proxy": ["127.0.0.1", proxy.port],
        "ca": str(ca.bundle_path),
        "headers": {"Authorization": mdm.authorization},
        "paths": [f"{DISCOVERY}&n={n}" for n in range(6)],
        "connections": 3,
        "fresh": fresh,
    }
    (result,) = spawn(job)
    records = proxy.control.journal(wait_idle=10)
    assert len(records) == 6
    assert len({r.conn for r in records}) == connections
    # Results come back in the order of the paths, whichever connection sent them.
    assert sorted(r.params["n"][0] for r in records) == [str(n) for n in range(6)]
    assert result["statuses"] == [[200]] * 6


class _Plain(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        if self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        else:
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"until the end")
            self.close_connection = True

    def log_message(self, *args: object) -> None:
        pass


def test_chunked_and_read_to_close_bodies_over_plain_http(ca: CertificateAuthority) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Plain)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        (result,) = spawn(
            {
                "target": ["127.0.0.1", server.server_address[1]],
                "tls": False,
                "ca": str(ca.bundle_path),
                "paths": ["/chunked", "/close", "/chunked", "/close"],
            }
        )
    finally:
        server.shutdown()
        server.server_close()
    assert result["bytes"] == [11, 13, 11, 13]
    assert result["errors"] == [None] * 4


def test_a_job_with_an_unknown_key_or_a_target_off_loopback_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown job keys: count"):
        Job.from_json({"target": ["127.0.0.1", 1], "ca": "x", "paths": [], "count": 3})
    with pytest.raises(ValueError, match=r"'192\.0\.2\.1' is not a loopback address"):
        Job.from_json({"target": ["192.0.2.1", 443], "ca": "x", "paths": ["/"]})
    behind_proxy = {"target": ["192.0.2.1", 443], "proxy": ["127.0.0.1", 1], "paths": ["/"]}
    assert Job.from_json({**behind_proxy, "ca": "x"}).proxy == ("127.0.0.1", 1)
    reset = {"method": "POST", "url": "http://192.0.2.1/reset"}
    with pytest.raises(ValueError, match=r"'192\.0\.2\.1' is not a loopback address"):
        Job.from_json({**behind_proxy, "ca": "x", "reset": reset})
    with pytest.raises(RuntimeError, match="load generator failed"):
        spawn({"target": ["127.0.0.1", 1], "ca": "x", "paths": [], "count": 3})


def test_jobs_are_json_lines_answered_in_order(mdm: ReferenceMDM, ca: CertificateAuthority) -> None:
    first, second = spawn(
        _direct(mdm, ca, paths=[DISCOVERY] * 2),
        _direct(mdm, ca, paths=[DISCOVERY, "/no/such/path"], expect=None),
    )
    assert len(first["latencies_ns"]) == 2 and first["statuses"] == [[200], [200]]
    assert second["statuses"][0] == [200] and second["statuses"][1] != [200]
