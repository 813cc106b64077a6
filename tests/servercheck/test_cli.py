"""``mdm-harness certify-server`` end to end: real processes - ``mdm-harness serve`` on loopback,
the command as a user types it, its child pytest, mitmdump - and the report it leaves. Runs
that start no suite (exit 2, a replay) call the command's ``main`` in this process."""

from __future__ import annotations

import json
import re
import select
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness._util import (
    AMBIENT_TLS_AND_PROXY_VARS,
    free_loopback_port,
    python,
    scrubbed_env,
    stop_process,
)
from harness.cli import main
from harness.mdm import AdminClient

QUICK = ("--profile", "quick", "--seed", "11", "--rate", "50", "-n", "1")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """``mdm-harness serve`` in its own process: 60 devices, pages of 5."""
    state = tmp_path_factory.mktemp("serve")
    log = open(state / "serve.log", "w")  # noqa: SIM115 - the process writes it until the end
    proc = subprocess.Popen(
        [
            *python("-m", "harness", "serve", "--json", "--devices", "60", "--seed", "3"),
            *("--query-max-size", "5", "--state-dir", str(state), "--log-level", "warning"),
        ],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        env=scrubbed_env(),
    )
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        assert ready, "serve printed nothing within 60 s"
        facts = json.loads(proc.stdout.readline())
        facts["admin"] = AdminClient(
            facts["base_url"], facts["username"], facts["password"], ca_bundle=facts["ca_bundle"]
        )
        yield facts
    finally:
        stop_process(proc)
        log.close()


def certify(
    facts: dict[str, Any],
    tmp: Path,
    *args: str,
    password: str | None = None,
    url: str | None = None,
) -> subprocess.CompletedProcess[str]:
    env = scrubbed_env({"MDM_PASSWORD": password if password is not None else facts["password"]})
    for name in ("MDM_BASE_URL", "MDM_USERNAME"):
        env.pop(name, None)
    command = python("-m", "harness", "certify-server")
    command += [
        url or facts["base_url"],
        "--username",
        facts["username"],
        "--ca",
        facts["ca_bundle"],
    ]
    return subprocess.run(
        command + list(args), capture_output=True, text=True, env=env, cwd=tmp, timeout=600
    )


def certify_here(
    facts: dict[str, Any],
    tmp: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    *args: str,
    password: str | None = None,
    url: str | None = None,
) -> tuple[int, str, str]:
    """``certify`` in this process (``harness.cli.main``), for runs that start no suite (usage
    errors, a server that cannot be judged, a replay): the exit code, stdout, stderr."""
    for name in ("MDM_BASE_URL", "MDM_USERNAME", *AMBIENT_TLS_AND_PROXY_VARS):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MDM_PASSWORD", password if password is not None else facts["password"])
    monkeypatch.chdir(tmp)
    argv = [url or facts["base_url"], "--username", facts["username"], "--ca", facts["ca_bundle"]]
    code = main(["certify-server", *argv, *args])
    out, err = capsys.readouterr()
    return code, out, err


def _journal(report: Path) -> list[dict[str, Any]]:
    return [
        json.loads(line) for line in (report / "journal.jsonl").read_text().splitlines() if line
    ]


def test_the_reference_mdm_is_certified_and_only_get_reaches_it(
    served: dict[str, Any], tmp_path: Path
) -> None:
    admin: AdminClient = served["admin"]
    admin.reset()
    report = tmp_path / "report"
    run = certify(served, tmp_path, *QUICK, "-n", "2", "--report", str(report))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "CERTIFIED:" in run.stdout and "NOT CERTIFIED" not in run.stdout
    planned = int(re.search(r"plan: at most (\d+) requests", run.stdout).group(1))  # type: ignore[union-attr]
    for name in (
        "certification.md",
        "certification.html",
        "junit.xml",
        "journal.jsonl",
        "meta.json",
    ):
        assert (report / name).is_file(), name
    assert not (report / "failures").exists()
    meta = json.loads((report / "meta.json").read_text())
    journal = _journal(report)
    # every request of the run is in the journal - and every one is a GET
    assert len(journal) == meta["requests_sent"] <= planned
    assert {a["method"] for a in journal} == {"GET"} and meta["posts_sent"] == 0
    # the server's own log says the same: no POST reached it, no action ran
    server_side = admin.requests()
    assert server_side["count"] == meta["requests_sent"]
    assert {r["method"] for r in server_side["requests"]} == {"GET"}
    assert admin.actions() == []
    html = (report / "certification.html").read_text()
    assert "MDM server certification" in html and "CERTIFIED" in html


def _an_enrolled_mac(served: dict[str, Any]) -> str:
    """A compliant (so enrolled) device's MAC, asked of the server directly."""
    context = ssl.create_default_context(cafile=served["ca_bundle"])
    with httpx.Client(
        verify=context, trust_env=False, auth=(served["username"], served["password"])
    ) as client:
        answer = client.get(
            served["origin"] + "/7/ciscoise/v3/devices/",
            params={
                "paging": "0",
                "querycriteria": "compliance",
                "value": "true",
                "deviceidentifier": "macaddress",
            },
        )
    return re.search(r"<macaddress>([0-9A-F]{12})</macaddress>", answer.text).group(1)  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def partial_run(served: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One partial run, K1 and L2 only, that the next two tests read: actions allowed on one
    named device, and the server's unknown-device-404 defect switched on (it breaks L2 and
    nothing K1 needs). The server's own record of the actions is taken right after it."""
    admin: AdminClient = served["admin"]
    admin.reset()
    target_mac = _an_enrolled_mac(served)
    tmp = tmp_path_factory.mktemp("partial")
    report = tmp / "report"
    admin.settings(defects=["unknown-device-404"])
    try:
        run = certify(
            served, tmp, *QUICK, "-k", "k1 or l2", "--allow-actions",
            "--action-device", f"mac={target_mac}", "--report", str(report),
        )  # fmt: skip
    finally:
        admin.settings(defects=[])
    return {"run": run, "report": report, "mac": target_mac, "actions": admin.actions()}


def test_an_action_goes_only_to_the_named_device(partial_run: dict[str, Any]) -> None:
    run = partial_run["run"]
    assert re.search(r"^\s+K1\s+MUST\s+holds\s", run.stdout, re.M), run.stdout + run.stderr
    posts = [a for a in _journal(partial_run["report"]) if a["method"] == "POST"]
    assert len(posts) == 1 and "/action/actionType=pin_lock" in posts[0]["path"]
    actions = partial_run["actions"]
    assert [(a["action"], a["macaddress"]) for a in actions] == [("pin_lock", partial_run["mac"])]


def test_a_broken_server_fails_its_contract_with_the_evidence_and_a_replay(
    served: dict[str, Any],
    partial_run: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    admin: AdminClient = served["admin"]
    run, report = partial_run["run"], partial_run["report"]
    assert run.returncode == 1, run.stdout + run.stderr
    assert "FAILED (partial run" in run.stdout and "L2 " in run.stdout
    md = (report / "certification.md").read_text()
    assert "### L2 (MUST): an unknown device gives 200 with an empty deviceList" in md
    assert "answered 404, not 200 with an empty deviceList" in md  # the reason
    assert "- what a correct server does: A lookup of a device it does not know" in md
    assert "- source: spec (unregistered device" in md  # its source
    assert re.search(r"GET /7/ciscoise/v\d/devices/", md)  # the request
    assert "-> 404 application/xml" in md and "no such device" in md  # the answer, an excerpt
    replays = sorted((report / "failures").glob("*.yaml"))
    assert replays and all(r.name.startswith("L2-") for r in replays)  # K1 held
    replay = str(replays[0])
    admin.settings(defects=["unknown-device-404"])
    try:
        # the replays in this process: the command's run is proven by the partial run above
        code, out, err = certify_here(served, tmp_path, monkeypatch, capsys, "--replay", replay)
        assert code == 1 and "L2 BROKEN" in out, out + err
        admin.settings(defects=[])
        code, out, err = certify_here(served, tmp_path, monkeypatch, capsys, "--replay", replay)
        assert code == 0 and "L2 holds" in out, out + err
    finally:
        admin.settings(defects=[])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--device", "0026B424FEB4"], "--device '0026B424FEB4': expected KEY=VALUE"),
        (["--action-device", "mac=0026B424FEB4"], "--action-device: actions need --allow-actions"),
        (["--allow-actions"], "--allow-actions: name the devices an action may touch"),
        (
            ["--proxy", "socks5://127.0.0.1:1080"],
            "--proxy 'socks5://127.0.0.1:1080': expected http://host:port",
        ),
        (["--ca", "/nonexistent.pem"], "--ca '/nonexistent.pem': not a readable PEM bundle"),
        (["-n", "0"], "-n '0': expected auto or a number of workers >= 1"),
        (["--rate", "-2"], "--rate -2.0: requests per second"),
        (["--max-requests", "10"], "--max-requests 10: the plan needs up to"),
        (["--report", "/proc/version/report"], "--report: cannot write to '/proc/version/report'"),
        (["--replay", "/nonexistent.yaml"], "--replay '/nonexistent.yaml': cannot read"),
    ],
)
def test_bad_input_is_one_line_and_exit_2_before_any_request(
    served: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    before = served["admin"].stats()["requests"]
    code, out, err = certify_here(served, tmp_path, monkeypatch, capsys, *args)
    assert code == 2, out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], err
    assert served["admin"].stats()["requests"] == before


@pytest.mark.parametrize("what", ["http", "no password", "url query"])
def test_a_bad_url_or_missing_password_is_exit_2(
    served: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    what: str,
) -> None:
    url = {
        "http": served["base_url"].replace("https:", "http:"),
        "url query": served["base_url"] + "?x=1",
    }.get(what)
    password = "" if what == "no password" else None
    code, _, err = certify_here(served, tmp_path, monkeypatch, capsys, url=url, password=password)
    assert code == 2
    assert {
        "http": "https only",
        "no password": "--password: required",
        "url query": "without a query",
    }[what] in err


@pytest.mark.parametrize(
    ("what", "message"),
    [
        ("closed port", "the server cannot be reached"),
        ("wrong password", "discovery answered 401"),
        ("wrong instance", "discovery answered 404"),
    ],
)
def test_a_server_that_cannot_be_judged_is_exit_2(
    served: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    what: str,
    message: str,
) -> None:
    url, password = served["base_url"], None
    if what == "closed port":
        url = f"https://127.0.0.1:{free_loopback_port()}/networkIntegrationEndpoint/7"
    elif what == "wrong password":
        password = "not-the-password"
    else:
        url = url.replace("/7", "/999")
    started = time.monotonic()
    report = str(tmp_path / "r")
    code, out, err = certify_here(
        served, tmp_path, monkeypatch, capsys, "--report", report, url=url, password=password
    )
    assert code == 2, out + err
    assert message in err
    assert time.monotonic() - started < 120
    assert not (tmp_path / "r" / "junit.xml").exists()  # the suite never ran
