"""The runners: exec (real subprocesses, a scrubbed environment, the hard limit, crash detection)
and in-process ``module:factory``."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import textwrap
import time
from pathlib import Path

import pytest

from harness._util import wait_until
from harness.client import ClientEnv, ClientSpec

#: How late a kill at the hard limit may be on a loaded 2-core machine.
KILL_TOLERANCE_S = 3.0


@pytest.fixture
def env(tmp_path: Path) -> ClientEnv:
    return ClientEnv(
        base_url="https://acme.jamfcloud.test/networkIntegrationEndpoint/7",
        username="ise",
        password="pw-never-shown",
        ca_bundle=tmp_path / "ca.pem",
        proxy="http://127.0.0.1:9",
        timeout_ms=800,
    )


def python_client(code: str) -> ClientSpec:
    """An exec client: this interpreter running ``code`` (argv[1:] = operation and args)."""
    return ClientSpec("exec", argv=(sys.executable, "-c", textwrap.dedent(code)))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers signal 0; it is dead for our purpose.
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


# ------------------------------------------------------------------------------ parsing specs


def test_spec_parse() -> None:
    assert ClientSpec.parse("mdm-harness reference-client") == ClientSpec(
        "exec", argv=("mdm-harness", "reference-client")
    )
    assert ClientSpec.parse("java -jar 'my nac.jar'").argv == ("java", "-jar", "my nac.jar")
    assert ClientSpec.parse("./client:latest").kind == "exec"  # a path, not a module
    spec = ClientSpec.parse(" harness.client.reference:factory ")
    assert spec == ClientSpec("inprocess", target="harness.client.reference:factory")
    assert str(spec) == "harness.client.reference:factory"
    assert str(ClientSpec.parse("a 'b c'")) == "a 'b c'"
    with pytest.raises(ValueError, match="empty"):
        ClientSpec.parse("   ")
    with pytest.raises(ValueError, match="cannot be split"):
        ClientSpec.parse("client 'unbalanced")
    with pytest.raises(ValueError, match=r"pkg\.module:factory"):
        ClientSpec("inprocess", target="not a target")
    with pytest.raises(ValueError, match="hard_limit_s"):
        ClientSpec.parse("true").run(
            "mdminfo", [], ClientEnv("https://h", "u", "p", Path("c")), hard_limit_s=0
        )


# ------------------------------------------------------------------------------ exec runner


def test_exec_ok_passes_operation_and_args(env: ClientEnv) -> None:
    spec = python_client(
        """
        import json, sys
        print("diagnostics go to stderr", file=sys.stderr)
        assert sys.argv[1:] == ["action", "full_wipe", "--mac", "0026B424FEB4"], sys.argv
        print(json.dumps({"outcome": "ok", "result": {"action_status": True, "failure_reason": None}}))
        """
    )
    before = time.monotonic()
    outcome = spec.run("action", ["full_wipe", "--mac", "0026B424FEB4"], env)
    after = time.monotonic()
    assert outcome.kind == "ok", outcome
    assert outcome.result == {"action_status": True, "failure_reason": None}
    assert outcome.exit_code == 0 and outcome.operation == "action"
    assert "diagnostics go to stderr" in outcome.stderr
    assert before <= outcome.started <= outcome.ended <= after


def test_exec_error_outcome(env: ClientEnv) -> None:
    spec = python_client(
        'print(\'{"outcome": "error", "error": "unauthorized", "message": "HTTP 401"}\')'
    )
    outcome = spec.run("mdminfo", [], env)
    assert (outcome.kind, outcome.error, outcome.message) == ("error", "unauthorized", "HTTP 401")


def test_exec_environment_is_scrubbed_and_complete(
    env: ClientEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in (
        "REQUESTS_CA_BUNDLE",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "CURL_CA_BUNDLE",
        "https_proxy",
        "http_proxy",
        "ALL_PROXY",
        "NO_PROXY",
    ):
        monkeypatch.setenv(name, "/ambient/" + name)
    monkeypatch.setenv("HTTPS_PROXY", "http://stale.example:3128")
    monkeypatch.setenv("MDM_TIMEOUT_MS", "99999")  # a stale protocol variable must not win
    spec = python_client(
        """
        import json, os
        print(json.dumps({"outcome": "error", "error": "timeout", "message": json.dumps(dict(os.environ))}))
        """
    )
    outcome = spec.run("mdminfo", [], env)
    assert outcome.kind == "error" and outcome.message is not None
    seen = json.loads(outcome.message)
    for name in (
        "REQUESTS_CA_BUNDLE",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "CURL_CA_BUNDLE",
        "https_proxy",
        "http_proxy",
        "ALL_PROXY",
        "NO_PROXY",
    ):
        assert name not in seen, name
    for name, value in env.as_environ().items():
        assert seen[name] == value, name
    assert seen["HTTPS_PROXY"] == "http://127.0.0.1:9"
    assert "PATH" in seen  # the rest of the environment is kept


def test_exec_reverse_mode_has_no_https_proxy(
    env: ClientEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://stale.example:3128")
    monkeypatch.setenv("MDM_PROXY", "http://stale.example:3128")
    reverse = ClientEnv(env.base_url, env.username, env.password, env.ca_bundle, proxy=None)
    spec = python_client(
        """
        import json, os
        print(json.dumps({"outcome": "error", "error": "timeout",
                          "message": repr((os.environ.get("HTTPS_PROXY"), os.environ["MDM_PROXY"]))}))
        """
    )
    assert spec.run("mdminfo", [], reverse).message == "(None, '')"


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("import sys; sys.exit(3)", "exit code 3"),
        ("import os, signal; os.kill(os.getpid(), signal.SIGSEGV)", "killed by signal SIGSEGV"),
        ("pass", "no JSON on stdout"),
        ("print('all good!')", "invalid JSON: Expecting value"),
        ("print('[]')", "JSON is not an object but list"),
        ('print(\'{"outcome": "ok"}\')', "'ok' outcome without 'result'"),
        (
            'print(\'{"outcome": "ok", "result": {"devices": [{"macaddress": "x"}]}}\')',
            "malformed result: result.devices[0].macaddress: expected 12 upper-case hex digits or null",
        ),
        ('print(\'{"outcome": "error", "error": "boom"}\')', "unknown error category 'boom'"),
        ('print(\'{"outcome": "fine"}\')', "unknown outcome 'fine'"),
        # A client that prints a valid answer and then fails is still a crash.
        (
            'import sys; print(\'{"outcome": "ok", "result": {"devices": []}}\'); sys.exit(1)',
            "exit code 1",
        ),
    ],
)
def test_exec_crashes(env: ClientEnv, code: str, reason: str) -> None:
    outcome = python_client(code).run("device", ["--mac", "0026B424FEB4"], env)
    assert outcome.kind == "crash", outcome
    assert outcome.crash_reason is not None and outcome.crash_reason.startswith(reason)
    assert outcome.result is None and outcome.error is None


def test_exec_missing_command_is_a_crash(env: ClientEnv, tmp_path: Path) -> None:
    outcome = ClientSpec("exec", argv=(str(tmp_path / "no-such-client"),)).run("mdminfo", [], env)
    assert outcome.kind == "crash"
    assert outcome.crash_reason is not None and outcome.crash_reason.startswith("cannot execute")


def test_exec_overrun_kills_the_whole_process_group(env: ClientEnv, tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    spec = python_client(
        f"""
        import os, subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        open({str(pids)!r}, "w").write(f"{{os.getpid()}} {{child.pid}}")
        print("partial output", flush=True)
        time.sleep(60)
        """
    )
    limit = 1.0
    outcome = spec.run("noncompliant", [], env, hard_limit_s=limit)
    assert outcome.kind == "crash"
    assert outcome.crash_reason == "overran the hard limit of 1.0 s"
    assert outcome.exit_code is None
    assert limit <= outcome.duration < limit + KILL_TOLERANCE_S
    assert "partial output" in outcome.stdout
    parent, grandchild = map(int, pids.read_text().split())
    wait_until(lambda: not _alive(parent) and not _alive(grandchild), timeout=10, what="group dead")


def test_exec_leftover_background_processes_are_killed(env: ClientEnv, tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    spec = python_client(
        f"""
        import subprocess, sys
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        open({str(pid_file)!r}, "w").write(str(child.pid))
        print('{{"outcome": "ok", "result": {{"devices": []}}}}')
        """
    )
    outcome = spec.run("device", ["--guid", "g"], env)
    assert outcome.kind == "ok", outcome
    pid = int(pid_file.read_text())
    wait_until(lambda: not _alive(pid), timeout=10, what="background child killed")


# ------------------------------------------------------------------------------ in-process runner


def test_inprocess_ok_and_error(env: ClientEnv) -> None:
    outcome = ClientSpec.parse("support.inprocess:unregistered").run("device", ["--mac", "x"], env)
    assert outcome.kind == "ok" and outcome.result == {"devices": []}
    assert outcome.exit_code is None and json.loads(outcome.stdout) == {
        "outcome": "ok",
        "result": {"devices": []},
    }
    outcome = ClientSpec.parse("support.inprocess:echo").run("device", ["--guid", "g-1"], env)
    assert outcome.kind == "error" and outcome.error == "not_found"
    assert outcome.message == f"device --guid g-1 {env.base_url} 800"


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("support.inprocess:raises", "raised RuntimeError: the client fell over"),
        ("support.inprocess:broken_factory", "raised ImportError: a dependency is missing"),
        (
            "support.inprocess:NOT_CALLABLE",
            "raised TypeError: support.inprocess:NOT_CALLABLE is not callable",
        ),
        ("support.inprocess:missing", "raised AttributeError"),
        ("client_support.no_such_module:factory", "raised ModuleNotFoundError"),
        ("support.inprocess:not_json", "returned a value that is not JSON"),
        ("support.inprocess:wrong_shape", "malformed result: result.devices: missing"),
    ],
)
def test_inprocess_crashes(env: ClientEnv, target: str, reason: str) -> None:
    outcome = ClientSpec.parse(target).run("device", ["--mac", "0026B424FEB4"], env)
    assert outcome.kind == "crash", outcome
    assert outcome.crash_reason is not None and outcome.crash_reason.startswith(reason)


def test_inprocess_exception_traceback_is_in_stderr(env: ClientEnv) -> None:
    outcome = ClientSpec.parse("support.inprocess:raises").run("mdminfo", [], env)
    assert "Traceback" in outcome.stderr and "the client fell over" in outcome.stderr


def test_inprocess_overrun_is_a_crash_within_the_limit(env: ClientEnv) -> None:
    limit = 0.3
    outcome = ClientSpec.parse("support.inprocess:overruns").run(
        "mdminfo", [], env, hard_limit_s=limit
    )
    assert outcome.kind == "crash"
    assert outcome.crash_reason == "overran the hard limit of 0.3 s"
    assert limit <= outcome.duration < limit + KILL_TOLERANCE_S


# ------------------------------------------------------------------------------ memory


def test_exec_reports_the_clients_peak_memory(env: ClientEnv) -> None:
    """S3 bounds a client's memory: the runner reaps it with wait4 and keeps ru_maxrss."""
    hungry = python_client(
        """
        import json
        block = bytearray(200 * 1024 * 1024)  # touched below, so it is resident
        for i in range(0, len(block), 4096):
            block[i] = 1
        print(json.dumps({"outcome": "error", "error": "parse_error", "message": "bomb"}))
        """
    )
    modest = python_client(
        'print(\'{"outcome": "error", "error": "parse_error", "message": "x"}\')'
    )
    big, small = hungry.run("mdminfo", [], env), modest.run("mdminfo", [], env)
    assert big.kind == small.kind == "error"
    assert big.max_rss_kb is not None and big.max_rss_kb >= 200 * 1024
    assert small.max_rss_kb is not None and small.max_rss_kb < 100 * 1024


def test_exec_output_larger_than_a_pipe_buffer_is_read_whole(env: ClientEnv) -> None:
    chatty = python_client(
        """
        import json, sys
        sys.stderr.write("x" * 1_000_000)
        print(json.dumps({"outcome": "error", "error": "timeout", "message": "m"}))
        """
    )
    outcome = chatty.run("mdminfo", [], env)
    assert outcome.kind == "error" and outcome.error == "timeout"
    assert outcome.stderr.startswith("xxx")


def test_a_flood_of_output_keeps_its_head_and_its_tail_within_the_bound(env: ClientEnv) -> None:
    flood = python_client(
        """
        import json, sys
        sys.stderr.write("first line\\n" + "x" * 5_000_000 + "\\nthe real error: gave up\\n")
        print(json.dumps({"outcome": "error", "error": "timeout", "message": "m"}))
        """
    )
    outcome = flood.run("mdminfo", [], env)
    assert outcome.kind == "error"
    assert outcome.stderr.startswith("first line")
    assert outcome.stderr.endswith("the real error: gave up\n")  # the end, where the clue is
    assert "bytes cut ...]" in outcome.stderr and len(outcome.stderr) < (1 << 20) + 200


def test_relative_paths_in_a_command_are_made_absolute(tmp_path: Path) -> None:
    (tmp_path / "adapter.py").write_text("print('hi')\n")
    spec = ClientSpec.parse("python3 adapter.py --flag x", base=tmp_path)
    assert spec.argv == ("python3", str(tmp_path / "adapter.py"), "--flag", "x")
    spec = ClientSpec.parse("./bin/client run", base=tmp_path)  # the program: a path, made absolute
    assert spec.argv == (str(tmp_path / "bin" / "client"), "run")
    assert ClientSpec.parse("/abs/client adapter.txt", base=tmp_path).argv[0] == "/abs/client"


def test_an_exec_client_runs_in_an_empty_directory_of_its_own(
    env: ClientEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Never in the directory the harness writes its verdicts to (certify's report dir)."""
    (tmp_path / "verdicts-gw0.jsonl").write_text("{}")
    monkeypatch.chdir(tmp_path)
    nosy = python_client(
        """
        import json, os
        print(json.dumps({"outcome": "error", "error": "timeout",
                          "message": json.dumps([os.getcwd(), os.listdir(".")])}))
        """
    )
    seen = []
    for _ in range(2):
        outcome = nosy.run("mdminfo", [], env)
        where, listing = json.loads(outcome.message or "")
        assert listing == [] and Path(where) != tmp_path, (where, listing)
        seen.append(where)
    assert seen[0] != seen[1] and not any(Path(w).exists() for w in seen)  # fresh, then gone


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
@pytest.mark.parametrize("armed", [True, False], ids=["death-signal", "without-it"])
def test_an_exec_client_dies_with_the_harness(tmp_path: Path, armed: bool) -> None:
    """kill -9 of the process running a client takes the client with it (no orphan runs on).

    The counterpart runs the same client without the parent-death signal: it survives, which
    proves the check can fail.
    """
    import signal
    import subprocess

    pidfile = tmp_path / "client.pid"
    client = f"import os, time; open({str(pidfile)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
    harness = textwrap.dedent(
        f"""
        import sys
        from harness.client import ClientEnv, ClientSpec
        import harness.client.runner as runner
        if not {armed!r}:
            runner.parent_death_signal = lambda: None
        env = ClientEnv(base_url="https://h/x", username="u", password="p", ca_bundle="ca.pem",
                        proxy="", timeout_ms=100)
        ClientSpec("exec", argv=(sys.executable, "-c", {client!r})).run("mdminfo", [], env,
                                                                        hard_limit_s=120)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", harness])
    try:
        pid = int(wait_until(lambda: pidfile.exists() and pidfile.read_text(), timeout=30))
        assert _alive(pid)
        parent.kill()
        parent.wait(10)
        if armed:
            wait_until(lambda: not _alive(pid), timeout=10, what="the client to die")
        else:
            time.sleep(0.5)  # give a (wrongly) dying client time to go: it must not
            assert _alive(pid)
    finally:
        if pidfile.exists():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pidfile.read_text()), signal.SIGKILL)
