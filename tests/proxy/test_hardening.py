"""The reliability findings of issue 12, each reproduced and shown fixed: the control API needs
its token and a loopback Host, the canary lives apart from it, a client hunting for it cannot
change its verdict, no secret is in mitmdump's argv, split and long request lines are journaled
and faulted, plain ``mitmdump -s`` listens on loopback only, a big scenario does not freeze the
proxy (and a too big one gets 413), and the on-disk journal survives ``kill -9``."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import hunter
from support.proxy import DISCOVERY, PUBLIC_HOST, Lab, lab, read_to_end

from harness._util import scrubbed_env, wait_until
from harness.attempt import Attempt
from harness.proxy import ADDON_PATH, ControlClient, ControlError
from harness.tls import CertificateAuthority

#: Every discovery request gets 503 - the scenario a hostile client wants switched off.
MDMINFO_503 = "name: mdminfo-503\nrules:\n  - match: {operation: mdminfo}\n    fault: status_503\n"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    tmp = tmp_path_factory.mktemp("guarded")
    scenario = tmp / "mdminfo-503.yaml"
    scenario.write_text(MDMINFO_503)
    with lab(tmp, scenario=str(scenario)) as the_lab:
        yield the_lab


def _raw(
    port: int, method: str, path: str, headers: dict[str, str], body: bytes | None = None
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers)
        reply = conn.getresponse()
        return reply.status, {k.lower(): v for k, v in reply.getheaders()}, reply.read()
    finally:
        conn.close()


# -- 1. the control API: token, Host, and a canary of its own ---------------------------------


def test_every_control_call_needs_the_token(guarded: Lab) -> None:
    control = guarded.proxy.control
    port, host = control.port, f"127.0.0.1:{control.port}"
    for method, path in [
        ("GET", "/health"),
        ("DELETE", "/scenario"),
        ("POST", "/reset"),
        ("GET", "/journal"),
        ("GET", "/counters"),
        ("GET", "/canary"),
        ("PUT", "/scenario"),
    ]:
        body = b"name: x\nrules: []\n" if method == "PUT" else None
        status, headers, data = _raw(port, method, path, {"Host": host}, body)
        assert status == 401, (method, path, status, data)
        assert headers["www-authenticate"].startswith("Bearer")
        wrong = {"Host": host, "Authorization": "Bearer " + "0" * 43}
        assert _raw(port, method, path, wrong, body)[0] == 401
    # The client of the harness passes its token itself (the public API is unchanged).
    assert control.health()["scenario"] == "mdminfo-503"
    # A client that knows only the port (as a hostile one would) gets nothing.
    with pytest.raises(ControlError) as exc:
        ControlClient("127.0.0.1", port).health()
    assert exc.value.status == 401


@pytest.mark.parametrize(
    "host",
    ["attacker.example", "attacker.example:80", "127.0.0.1.nip.io", "localhost.attacker.example"],
)
def test_a_host_that_is_not_loopback_is_refused_even_with_the_token(
    guarded: Lab, host: str
) -> None:
    control = guarded.proxy.control
    headers = {"Host": host, "Authorization": f"Bearer {control.token}"}
    status, _, body = _raw(control.port, "DELETE", "/scenario", headers)
    assert status == 403 and b"loopback" in body
    assert control.health()["scenario"] == "mdminfo-503"  # DNS rebinding changed nothing


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "localhost", "[::1]", "127.0.0.1:{port}", "localhost:{port}"]
)
def test_loopback_names_with_the_token_are_served(guarded: Lab, host: str) -> None:
    control = guarded.proxy.control
    headers = {"Host": host.format(port=control.port), "Authorization": f"Bearer {control.token}"}
    assert _raw(control.port, "GET", "/health", headers)[0] == 200


def test_the_canary_is_served_apart_from_the_control_api(guarded: Lab) -> None:
    url = guarded.proxy.canary_url("a3-00ff00ff")
    canary_port = int(url.split(":")[2].split("/")[0])
    assert canary_port != guarded.proxy.control.port and canary_port != guarded.proxy.port
    # A careless parser fetches it with no token at all, and the hit is recorded.
    status, _, body = _raw(
        canary_port, "GET", "/canary/a3-00ff00ff", {"Host": f"127.0.0.1:{canary_port}"}
    )
    assert (status, body) == (200, b"mdm-harness-canary")
    assert [h["token"] for h in guarded.proxy.control.canary_hits()][-1:] == ["a3-00ff00ff"]
    # The canary listener offers nothing else, and the control API no canary.
    for method, path in [("GET", "/health"), ("DELETE", "/scenario"), ("GET", "/canary")]:
        assert _raw(canary_port, method, path, {"Host": "127.0.0.1"})[0] == 404
    token = {"Host": "127.0.0.1", "Authorization": f"Bearer {guarded.proxy.control.token}"}
    assert _raw(guarded.proxy.control.port, "GET", "/canary/a3-00ff00ff", token)[0] == 404


def _hunt(lab: Lab, *extra: str) -> dict[str, Any]:
    assert lab.proxy.pid is not None
    proc = subprocess.run(
        [sys.executable, str(Path(hunter.__file__)), str(lab.proxy.pid), *extra],
        capture_output=True,
        text=True,
        env=scrubbed_env(),
        timeout=300,
        check=True,
    )
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def test_a_client_hunting_for_the_control_api_cannot_change_its_verdict(guarded: Lab) -> None:
    guarded.proxy.control.load_scenario(MDMINFO_503)
    guarded.proxy.control.reset()
    assert guarded.curl(DISCOVERY).status == 503
    hunt = _hunt(guarded)
    control, proxy = guarded.proxy.control, guarded.proxy
    # The verdict stands: the scenario still fires, and the journal was not reset.
    assert guarded.curl(DISCOVERY).status == 503
    assert control.health()["scenario"] == "mdminfo-503"
    seqs = [r.seq for r in control.journal(wait_idle=10)]
    assert seqs[0] == 1 and seqs[-1] == len(seqs)  # nothing was reset on the way
    # ...although it found the control API among the proxy's listeners and tried everything.
    assert {proxy.port, control.port} <= set(hunt["ports"])
    assert hunt["guesses"] > 0  # it read the command line, the environment and the fds
    changing = [t for t in hunt["tried"] if t["port"] == control.port]
    assert changing and {t["status"] for t in changing} <= {401, 403}


def test_the_hunt_would_succeed_with_the_token(guarded: Lab) -> None:
    # Negative control: the same hunt, given the token, finds the API and switches faults off.
    guarded.proxy.control.load_scenario(MDMINFO_503)
    assert guarded.curl(DISCOVERY).status == 503
    hunt = _hunt(guarded, "--token", guarded.proxy.control.token)
    assert any(t["status"] == 200 for t in hunt["tried"] if t["token"])
    assert guarded.curl(DISCOVERY).status == 200
    guarded.proxy.control.load_scenario(MDMINFO_503)


# -- 2. no secret in mitmdump's argv or environment ---------------------------------------------


def test_no_secret_is_in_mitmdumps_argv_or_environment(guarded: Lab) -> None:
    proxy = guarded.proxy
    assert proxy.pid is not None
    seen = b" ".join(
        Path(f"/proc/{proxy.pid}/{name}").read_bytes() for name in ("cmdline", "environ")
    )
    assert proxy.auth_key.encode() not in seen  # the journal's HMAC key
    assert proxy.control.token.encode() not in seen
    # ...while the key is in force: the journal hashes credentials with it.
    guarded.curl(DISCOVERY)
    record = guarded.journal()[-1]
    assert record.auth is not None
    assert record.auth["hash"] == proxy.auth_hash(guarded.mdm.username, guarded.mdm.password)


# -- 3. every attempt journaled and faulted, whatever its framing --------------------------------


def _tunnel_request(lab: Lab, parts: list[bytes]) -> tuple[bytes, str]:
    sock = lab.tunnel()
    try:
        for i, part in enumerate(parts):
            if i:
                # Pace the records so the proxy reads the first on its own (what a real client's
                # two writes look like on the wire); this is not a wait for readiness.
                time.sleep(0.3)
            sock.sendall(part)
        data, end, _ = read_to_end(sock)
        return data, end
    finally:
        sock.close()


def test_a_request_line_split_across_two_tls_records_is_journaled_and_faulted(guarded: Lab) -> None:
    guarded.load(MDMINFO_503)
    request = guarded.request_bytes(DISCOVERY)
    data, _ = _tunnel_request(guarded, [request[:4], request[4:]])  # "GET " then the rest
    assert data.startswith(b"HTTP/1.1 503")
    (record,) = guarded.journal()
    assert record.method == "GET" and record.operation == "mdminfo"
    assert record.fault is not None and record.fault.kind == "respond" and record.status == 503
    assert guarded.mdm.requests == []  # it never reached the MDM


def test_a_60_kb_request_line_is_journaled_and_faulted(guarded: Lab) -> None:
    guarded.load(MDMINFO_503)
    request = guarded.request_bytes(DISCOVERY + "&pad=" + "x" * 60_000)
    # A line that long cannot fit one TLS record: the first 16 000 bytes come on their own.
    data, _ = _tunnel_request(guarded, [request[:16_000], request[16_000:]])
    assert data.startswith(b"HTTP/1.1 503")
    (record,) = guarded.journal()
    assert record.operation == "mdminfo" and len(record.query) > 60_000
    assert record.fault is not None and record.status == 503
    assert guarded.mdm.requests == []


# -- 4. plain mitmdump -s listens on loopback ---------------------------------------------------


def _plain_mitmdump(
    ca: CertificateAuthority, tmp: Path, *options: str
) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    ready = tmp / "ready.json"
    cmd = [
        sys.executable,
        "-P",
        "-c",
        "import sys; from mitmproxy.tools.main import mitmdump; mitmdump(sys.argv[1:])",
        "-q",
        "-s",
        str(ADDON_PATH),
        "--set",
        "listen_port=0",  # the documented form uses 8080; 0 keeps parallel runs apart
        "--set",
        f"confdir={ca.mitmproxy_confdir()}",
        "--set",
        f"harness_ready_file={ready}",
        *options,
    ]
    proc = subprocess.Popen(
        cmd, env=scrubbed_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        info = wait_until(
            lambda: (
                (ready.exists() and json.loads(ready.read_text()))
                or (proc.poll() is not None and {"exited": proc.returncode})
            ),
            timeout=30,
            what="ready file",
        )
    except BaseException:
        proc.kill()
        raise
    assert "exited" not in info, proc.stdout.read() if proc.stdout else ""
    return proc, info


def test_plain_mitmdump_with_the_addon_listens_on_loopback_only(
    ca: CertificateAuthority, tmp_path: Path
) -> None:
    proc, info = _plain_mitmdump(ca, tmp_path)
    try:
        found = hunter.listening(proc.pid)
    finally:
        proc.terminate()
        proc.wait(10)
    assert {port for _, port in found} >= {info["proxy"]["port"], info["control"]["port"]}
    assert {address for address, _ in found} == {"127.0.0.1"}, found


def test_an_explicit_listen_host_is_kept(ca: CertificateAuthority, tmp_path: Path) -> None:
    proc, info = _plain_mitmdump(ca, tmp_path, "--set", "listen_host=127.0.0.2")
    try:
        found = hunter.listening(proc.pid)
    finally:
        proc.terminate()
        proc.wait(10)
    assert ("127.0.0.2", info["proxy"]["port"]) in found


# -- 5. scenario parsing off the event loop, and a size cap -------------------------------------


def _big_scenario() -> bytes:
    """About 3.8 MB (the cap is 4 MiB): 7 000 rules on device queries, each answering a long body."""
    rule = '  - {{name: r{i}, match: {{operation: devices}}, fault: {{kind: respond, body: "{pad}"}}}}\n'
    text = "name: big\nrules:\n" + "".join(rule.format(i=i, pad="y" * 480) for i in range(7000))
    return text.encode()


def test_a_big_scenario_put_does_not_freeze_other_flows(guarded: Lab) -> None:
    guarded.load(None)
    body = _big_scenario()
    assert 3_500_000 < len(body) < 4 << 20
    control = guarded.proxy.control
    done = threading.Event()
    outcome: dict[str, Any] = {}

    def put() -> None:
        start = time.monotonic()
        try:
            outcome["reply"] = control._json(
                "PUT", "/scenario", body, content_type="application/yaml", timeout=600
            )
        finally:
            outcome["took"] = time.monotonic() - start
            done.set()

    worker = threading.Thread(target=put)
    worker.start()
    latencies = []
    while not done.is_set():
        result = guarded.curl(DISCOVERY, max_time=30)
        if not done.is_set():
            assert result.status == 200
            latencies.append(result.elapsed)
    worker.join()
    assert outcome["reply"]["rules"] == 7000
    # While the parse ran (about a second here), requests went through the proxy promptly.
    assert latencies, outcome["took"]
    assert max(latencies) < 1.5, latencies


def test_a_scenario_put_over_the_cap_gets_413_and_the_old_one_stays(guarded: Lab) -> None:
    from harness.proxy.control import MAX_SCENARIO_BYTES

    guarded.load(MDMINFO_503)
    control = guarded.proxy.control
    headers = {"Host": "127.0.0.1", "Authorization": f"Bearer {control.token}"}
    body = b"# padding\n" * (MAX_SCENARIO_BYTES // 10 + 1)
    status, _, data = _raw(control.port, "PUT", "/scenario", headers, body)
    assert status == 413
    assert json.loads(data)["error"] == f"<request>: (body): larger than {MAX_SCENARIO_BYTES} bytes"
    assert control.health()["scenario"] == "mdminfo-503"
    assert guarded.curl(DISCOVERY).status == 503


# -- 6. an on-disk journal that survives kill -9 ------------------------------------------------


def test_the_journal_file_survives_kill_9(tmp_path: Path) -> None:
    journal_file = tmp_path / "journal.jsonl"
    with lab(tmp_path, journal_file=journal_file) as the_lab:
        the_lab.load(MDMINFO_503)
        results = [the_lab.curl(DISCOVERY).status for _ in range(3)]
        # One more attempt is in flight (a hang) when the proxy dies.
        the_lab.proxy.control.load_scenario("name: h\nrules:\n  - fault: {kind: hang}\n")
        sock = the_lab.tunnel()
        sock.sendall(the_lab.request_bytes(DISCOVERY))
        wait_until(
            lambda: the_lab.proxy.control.counters()["in_flight"] == 1,
            timeout=10,
            what="a hang in flight",
        )
        assert the_lab.proxy.process is not None
        os.kill(the_lab.proxy.process.pid, signal.SIGKILL)
        the_lab.proxy.process.wait(10)
        sock.close()
        assert oct(journal_file.stat().st_mode & 0o777) == "0o600"
        text = journal_file.read_text()
    assert results == [503, 503, 503]
    lines = text.splitlines()
    assert text.endswith("\n") and len(lines) == 3  # every completed record, nothing torn
    records = [Attempt.from_json(json.loads(line)) for line in lines]
    assert [(r.seq, r.status, r.client_end) for r in records] == [
        (1, 503, "completed"),
        (2, 503, "completed"),
        (3, 503, "completed"),
    ]
    assert all(r.host == PUBLIC_HOST for r in records)


# -- hostile bodies to the control API: never a 5xx, never a hang, the proxy serves on -------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_HOSTILE = [
    # An alias bomb: ten anchors, each ten aliases of the previous.
    "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
    + "".join(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 10))
    + "name: bomb\nrules: []\n",
    "name: deep\nrules: " + "[" * 5000 + "]" * 5000 + "\n",
    "name: big-int\nseed: " + "9" * 5000 + "\nrules: []\n",
    "name: nan\nrules:\n  - fault: {kind: xml_truncate, fraction: .nan}\n",
    "\ufeff\x00\x01name: x\n",
    '{"name": "../../etc/passwd"}',
    "name: x\nrules:\n  - fault: {kind: respond, body_file: /etc/passwd}\n",
]


def _bodies() -> st.SearchStrategy[bytes]:
    """Hostile scenario bodies: known attacks, random text and bytes, and YAML-ish fragments.
    Shrinks towards short bodies."""
    yamlish = st.lists(
        st.sampled_from(
            [
                "name: x\n",
                "rules:\n",
                "  - ",
                "fault: ",
                "{kind: ",
                "&a ",
                "*a ",
                "[",
                "]",
                "}",
                "\n",
                "- ",
                "!!python/object ",
                "<<: *a\n",
            ]
        ),
        max_size=40,
    ).map("".join)
    return st.one_of(
        st.sampled_from(_HOSTILE).map(str.encode),
        st.text(max_size=2000).map(lambda t: t.encode("utf-8", "surrogatepass")),
        st.binary(max_size=2000),
        yamlish.map(str.encode),
    )


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=_bodies())
def test_hostile_scenario_bodies_get_a_clear_answer_and_change_nothing(
    guarded: Lab, body: bytes
) -> None:
    control = guarded.proxy.control
    headers = {"Host": "127.0.0.1", "Authorization": f"Bearer {control.token}"}
    start = time.monotonic()
    status, _, data = _raw(control.port, "PUT", "/scenario", headers, body)
    took = time.monotonic() - start
    assert status in (200, 400), (status, data)
    assert took < 10, took  # bounded, whatever the body (the loader refuses bombs early)
    answer = json.loads(data)
    if status == 400:  # one line naming where: <request>:LINE: FIELD: PROBLEM, or the name
        assert answer["error"] and "\n" not in answer["error"].strip()
    # Whatever was (or was not) loaded, the proxy serves on.
    assert control.health()["ok"] is True
    control.load_scenario(MDMINFO_503)
