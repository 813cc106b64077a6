"""The contract checks on hand-made journals: each holds for correct behaviour and bites on the broken one."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

import pytest

import harness
import harness.client
from harness.attempt import Attempt, failure_of
from harness.client.policy import RetryAfter, RetryRule, load_policy, parse_policy
from harness.client.protocol import Outcome
from harness.contracts import checks
from harness.contracts.model import CONTRACTS, Case, Evidence

POLICY = load_policy(Path(harness.client.__file__).parent / "reference-policy.yaml")
HOST = "acme.jamfcloud.test"
API = "/7/ciscoise/v3"


def rec(
    seq: int,
    start: float,
    end: float | None,
    *,
    status: int | None = 200,
    headers: list[tuple[str, str]] | None = None,
    body: str = "xml",
    **kw: Any,
) -> dict[str, Any]:
    """An attempt record in the proxy's JSON form (``status=None``: nothing was sent back)."""
    record: dict[str, Any] = {
        "v": 2,
        "seq": seq,
        "start": start,
        "end": end,
        "phase": "complete",
        "client_end": "completed",
        "method": "GET",
        "host": HOST,
        "scheme": "https",
        "path": f"{API}/devices/",
        "query": "",
        "params": {"paging": ["0"], "querycriteria": ["macaddress"], "value": ["0026B424FEB4"]},
        "operation": "devices",
        "fault": None,
        "auth": {"scheme": "Basic", "hash": "0123"},
        "sent": None
        if status is None
        else {
            "status": status,
            "headers": headers or [],
            "body_bytes": 100,
            "body": {"form": body},
            "first_byte": end,
            "last_byte": end,
        },
    }
    record.update(kw)
    return record


def disc(
    seq: int, start: float, end: float, status: int = 200, version: str = "3", **kw: Any
) -> dict[str, Any]:
    return rec(
        seq,
        start,
        end,
        operation="mdminfo",
        path="/networkIntegrationEndpoint/7/ciscoise/mdminfo/",
        params={"ise_api_version": [version]},
        query=f"ise_api_version={version}",
        status=status,
        **kw,
    )


def fault(kind: str, **params: Any) -> dict[str, Any]:
    return {"rule": "r", "kind": kind, "phase": "request", "params": params}


def ok(result: dict[str, Any] | None = None, op: str = "device", took: float = 0.5) -> Outcome:
    return Outcome(
        kind="ok",
        operation=op,
        result=result if result is not None else {"devices": []},
        started=0.0,
        ended=took,
    )


def err(category: str, op: str = "device", took: float = 0.5, **kw: Any) -> Outcome:
    return Outcome(
        kind="error", operation=op, error=category, message="m", started=0.0, ended=took, **kw
    )


def judge(
    contract: str, outcome: Outcome, records: list[dict[str, Any]], **case_kw: Any
) -> checks.Verdict:
    case = Case(
        contract=contract, title="t", operation=case_kw.pop("operation", "device"), **case_kw
    )
    actions = case_kw.get("actions", ())
    evidence = Evidence.of_attempts([Attempt.from_json(r) for r in records], actions=actions)
    return checks.check(case, outcome, evidence, POLICY)


def test_every_contract_has_a_check() -> None:
    assert set(checks.CHECKS) == set(CONTRACTS)


def test_a_crash_breaks_every_contract() -> None:
    crash = Outcome(
        kind="crash", operation="device", crash_reason="exit code 3", started=0, ended=1
    )
    for contract in CONTRACTS:
        verdict = judge(contract, crash, [], expect=frozenset({"timeout"}))
        assert not verdict.passed, contract
        assert "crashed" in verdict.reason


class TestT1:
    """Reference policy: timeout 1 s; backoff 100 ms x2 (equal jitter) before retries 1, 2."""

    @staticmethod
    def hangs(*starts: float, end_after: float = 1.02, **kw: Any) -> list[dict[str, Any]]:
        fields = {"status": None, "client_end": "client_closed", "phase": "request", **kw}
        return [rec(i, t, t + end_after, **fields) for i, t in enumerate(starts, 1)]

    def test_holds_when_each_hang_ends_at_the_timeout(self) -> None:
        records = self.hangs(0.0, 1.1, 2.3)
        verdict = judge("T1", err("timeout", took=3.4), records)
        assert verdict.passed, verdict.reason
        kinds = [w.kind for w in verdict.windows]
        assert kinds.count("timeout") == 3 and "backoff" in kinds and kinds[-1] == "deadline"
        assert all(w.breached_by is None for w in verdict.windows)

    def test_a_socket_kept_open_through_the_backoff_is_no_hang(self) -> None:
        """urllib3 raises its timeout at 1.0 s, sleeps its backoff, then closes the socket:
        the close comes after the next attempt began. Only the next attempt's start counts."""
        records = self.hangs(0.0, 1.15, 2.35, end_after=1.16)
        assert judge("T1", err("timeout", took=3.6), records).passed

    def test_bites_on_a_hang_far_past_the_timeout_and_backoff(self) -> None:
        records = self.hangs(0.0, 3.0)
        verdict = judge("T1", err("timeout", took=4.2), records)
        assert not verdict.passed and "attempt #2 began 3.00 s after attempt #1" in verdict.reason
        assert [w.breached_by for w in verdict.windows if w.kind == "backoff"] == [2]

    def test_bites_on_a_report_far_past_the_last_timeout(self) -> None:
        verdict = judge("T1", err("timeout", took=9.0), self.hangs(0.0, end_after=9.0))
        assert not verdict.passed and "the client reported 9.00 s after" in verdict.reason
        assert [w.breached_by for w in verdict.windows if w.kind == "deadline"] == [0, None]

    def test_bites_on_a_timeout_far_too_early(self) -> None:
        records = self.hangs(0.0, 0.3, 0.6, end_after=0.25)
        verdict = judge("T1", err("timeout", took=0.9), records)
        assert not verdict.passed
        assert (
            "gave up on 3 silent attempt(s) and reported after 0.90 s, far sooner than 3 x its declared 1.00 s"
            in verdict.reason
        )
        # 3 x (1 s - 0.2 s of slack), and the two retries' least declared backoff (0.05 + 0.1 s)
        assert "and 0.15 s of backoff between them" in verdict.reason
        assert verdict.windows[-1].breached_by == 0 and verdict.windows[-1].low == pytest.approx(
            2.55
        )

    def test_a_timeout_that_fires_during_the_tls_handshake_counts_as_given_up(self) -> None:
        """On a loaded machine a short timeout can fire before the handshake ends: the proxy
        sees the client leave a valid handshake (``tls_failed``, nothing sent). That silent
        attempt was given up on like any other."""
        records = self.hangs(0.0, 0.3, 0.6, end_after=0.25)
        records[1].update(client_end="tls_failed", phase="tls", certificate="valid")
        verdict = judge("T1", err("timeout", took=0.9), records)
        assert not verdict.passed and "gave up on 3 silent attempt(s)" in verdict.reason
        records[1].update(certificate="expired")  # a bad certificate refused: not a timeout
        verdict = judge("T1", err("timeout", took=0.9), records)
        assert "gave up on 2 silent attempt(s)" in verdict.reason

    def test_a_proxy_that_saw_the_request_late_makes_no_timeout_early(self) -> None:
        """The proxy stamped the request 0.25 s after the client sent it (a busy event loop):
        by the proxy's clock the client gave up after 0.75 s; by the harness's own clock it
        took its whole second."""
        verdict = judge("T1", err("timeout", took=1.02), self.hangs(0.25, end_after=0.75))
        assert verdict.passed, verdict.reason

    def test_a_timeout_a_little_early_is_within_tolerance(self) -> None:
        # 0.85 s: 150 ms early, inside 0.1 s + 10 % of 1 s
        assert judge("T1", err("timeout", took=0.9), self.hangs(0.0, end_after=0.85)).passed

    def test_the_upper_bound_counts_from_the_last_byte_sent(self) -> None:
        """A body that stops mid-way: a per-read timeout fires a timeout after the last byte."""
        body_hang = self.hangs(0.0, end_after=1.9, phase="response")
        body_hang[0]["sent"] = {
            "status": 200,
            "announced": 500,
            "body_bytes": 64,
            "first_byte": 0.8,
            "last_byte": 0.9,
        }
        assert judge("T1", err("timeout", took=2.0), body_hang).passed

    def test_bites_on_the_wrong_category(self) -> None:
        verdict = judge("T1", err("connection_error", took=1.1), self.hangs(0.0))
        assert not verdict.passed and "expected timeout" in verdict.reason

    @staticmethod
    def challenged(hang_end_after: float) -> list[dict[str, Any]]:
        """wget's default: the request without credentials gets a 401 challenge; wget reads
        its head and part of its body, leaves (``client_closed``) and sends the request with
        credentials at once - which hangs until its timeout."""
        challenge = rec(
            1,
            0.0,
            0.2,
            status=401,
            headers=[("WWW-Authenticate", 'Basic realm="Jamf Pro"')],
            auth=None,
            client_end="client_closed",
            phase="response",
        )
        challenge["sent"].update(announced=400, body_bytes=60, first_byte=0.01, last_byte=0.01)
        return [challenge, *TestT1.hangs(0.21, end_after=hang_end_after)[:1]]

    def test_an_answered_challenge_is_no_attempt_given_up_on(self) -> None:
        """Issue 10 (wget): the 401 it left after 0.2 s was an answer, not a timeout of 1 s."""
        records = self.challenged(1.02)
        records[1]["seq"] = 2
        verdict = judge("T1", err("timeout", took=1.3), records)
        assert verdict.passed, verdict.reason
        assert [w.after_seq for w in verdict.windows if w.kind == "timeout"] == [2]

    def test_a_timeout_far_too_early_after_a_challenge_still_bites(self) -> None:
        records = self.challenged(0.3)
        records[1]["seq"] = 2
        verdict = judge("T1", err("timeout", took=0.55), records)
        assert not verdict.passed
        assert "gave up on 1 silent attempt(s) and reported after 0.55 s" in verdict.reason

    def test_a_401_left_without_an_answer_is_still_given_up_on(self) -> None:
        """No credentials follow the 401 (the client gave up on it): not an answered challenge."""
        records = self.challenged(0.3)
        records[1].update(seq=2, auth=None)
        verdict = judge("T1", err("timeout", took=0.55), records)
        assert not verdict.passed
        assert "gave up on 2 silent attempt(s)" in verdict.reason


class TestT2:
    def test_holds_at_the_declared_limit(self) -> None:
        records = [
            rec(i, i, i + 0.01, status=503, fault=fault("respond", status=503)) for i in (1, 2, 3)
        ]
        assert judge("T2", err("server_error"), records).passed

    def test_bites_past_the_limit(self) -> None:
        records = [
            rec(i, i, i + 0.01, status=503, fault=fault("respond", status=503))
            for i in (1, 2, 3, 4)
        ]
        verdict = judge("T2", err("server_error"), records)
        assert not verdict.passed and "4 attempts" in verdict.reason


class TestT3:
    def test_holds_when_only_declared_statuses_are_retried(self) -> None:
        records = [rec(1, 0, 0.01, status=503), rec(2, 0.2, 0.21, status=502), rec(3, 0.5, 0.51)]
        assert judge("T3", ok(), records).passed

    @pytest.mark.parametrize("status", [400, 401, 403, 404])
    def test_bites_on_a_retried_client_error(self, status: int) -> None:
        records = [rec(1, 0, 0.01, status=status), rec(2, 0.2, 0.21, status=status)]
        verdict = judge("T3", err("unauthorized"), records)
        assert not verdict.passed and f"status {status}" in verdict.reason

    def test_a_declared_discovery_fallback_is_not_a_retry(self) -> None:
        records = [
            disc(1, 0, 0.01, status=401, version="3"),
            disc(2, 0.1, 0.11, status=401, version="2"),
        ]
        assert judge("T3", err("unauthorized", op="mdminfo"), records, operation="mdminfo").passed

    def test_bites_on_more_fallbacks_than_declared(self) -> None:
        records = [
            disc(1, 0, 0.01, status=401, version="3"),
            disc(2, 0.1, 0.11, status=401, version="2"),
            disc(3, 0.2, 0.21, status=401, version="1"),
        ]
        verdict = judge("T3", err("unauthorized", op="mdminfo"), records, operation="mdminfo")
        assert not verdict.passed and "fallback number 2" in verdict.reason

    def test_bites_on_a_retried_parse_error_the_policy_does_not_retry(self) -> None:
        records = [
            rec(1, 0, 0.01, body="malformed", fault=fault("xml_truncate")),
            rec(2, 0.2, 0.21),
        ]
        assert not judge("T3", ok(), records).passed


class TestT4:
    def test_holds_within_equal_jitter_bounds(self) -> None:
        # reference policy: 100 ms x2, equal jitter -> [0.05, 0.1], then [0.1, 0.2]
        records = [rec(1, 0, 1.0, status=503), rec(2, 1.07, 1.1, status=503), rec(3, 1.25, 1.3)]
        assert judge("T4", ok(), records).passed

    def test_bites_on_an_immediate_retry(self) -> None:
        records = [rec(1, 0, 1.0, status=503), rec(2, 1.001, 1.01)]
        verdict = judge("T4", ok(), records)
        assert not verdict.passed and "less than the declared 0.050 s" in verdict.reason

    def test_retry_after_is_the_wait_when_honoured(self) -> None:
        after = [("Retry-After", "1")]
        assert judge(
            "T4", ok(), [rec(1, 0, 1.0, status=503, headers=after), rec(2, 2.02, 2.1)]
        ).passed
        verdict = judge("T4", ok(), [rec(1, 0, 1.0, status=503, headers=after), rec(2, 1.1, 1.2)])
        assert not verdict.passed and "Retry-After 1 s" in verdict.reason

    def test_the_wait_after_a_cut_body_counts_from_the_cut(self) -> None:
        """A body cut short is news when the connection closes, not when the head went out."""
        cut = rec(1, 0, 1.05, client_end="proxy_closed", phase="response")
        cut["sent"] |= {"announced": 828, "body_bytes": 20, "first_byte": 0.9, "last_byte": 0.9}
        verdict = judge("T4", ok(), [cut, rec(2, 1.06, 1.1)])
        assert (
            not verdict.passed
            and "waited 0.010 s, less than the declared 0.050 s" in verdict.reason
        )
        assert judge("T4", ok(), [cut, rec(2, 1.12, 1.2)]).passed

    def test_a_declared_retry_that_never_came_bites(self) -> None:
        verdict = judge(
            "T4", err("server_error"), [rec(1, 0, 1.0, status=503)], expect=frozenset({"ok"})
        )
        assert not verdict.passed
        assert (
            "the policy retries status 503 for device, but attempt #1 was not retried"
            in verdict.reason
        )

    def test_nothing_retried_is_a_pass_for_a_policy_that_retries_nothing(self) -> None:
        never = POLICY.replace(retry=RetryRule())
        case = Case(
            contract="T4", title="t", operation="device", expect=frozenset({"server_error"})
        )
        evidence = Evidence.of_attempts([Attempt.from_json(rec(1, 0, 1.0, status=503))])
        verdict = checks.check(case, err("server_error"), evidence, never)
        assert verdict.passed and "nothing was retried" in verdict.reason
        assert not checks.check(case, ok(), evidence, never).passed  # the failure must be reported

    def test_retry_after_zero_uses_the_backoff_when_declared(self) -> None:
        zero = POLICY.replace(
            retry_after=RetryAfter(statuses=frozenset({503}), cap_ms=2000, zero="backoff")
        )
        after = [("Retry-After", "0")]
        case = Case(contract="T4", title="t", operation="device")
        too_soon = Evidence.of_attempts(
            [
                Attempt.from_json(r)
                for r in (rec(1, 0, 1.0, status=503, headers=after), rec(2, 1.001, 1.1))
            ]
        )
        assert not checks.check(case, ok(), too_soon, zero).passed
        assert checks.check(case, ok(), too_soon, POLICY).passed  # zero: now

    def test_a_long_retry_after_is_clamped_when_declared(self) -> None:
        clamp = POLICY.replace(
            retry_after=RetryAfter(statuses=frozenset({503}), cap_ms=2000, beyond_cap="clamp")
        )
        after = [("Retry-After", "30")]
        case = Case(contract="T4", title="t", operation="device")
        clamped = Evidence.of_attempts(
            [
                Attempt.from_json(r)
                for r in (rec(1, 0, 1.0, status=503, headers=after), rec(2, 3.01, 3.1))
            ]
        )
        assert checks.check(case, ok(), clamped, clamp).passed
        verdict = checks.check(case, ok(), clamped, POLICY)  # give_up: it should not have come
        assert not verdict.passed and "should have given up" in verdict.reason

    def test_a_declared_resend_is_immediate_and_not_a_retry(self) -> None:
        jdk = parse_policy(
            "schema: 2\ntimeout_ms: 1000\nmax_attempts: {mdminfo: 1, device: 1, noncompliant: 1, action: 1}\n"
            "resend: {max: 1, lookups: [closed_before_response]}\n"
        )
        closed = rec(1, 0, 0.5, status=None, client_end="proxy_closed", phase="request")
        case = Case(contract="T4", title="t", operation="device")
        resent = Evidence.of_attempts([Attempt.from_json(r) for r in (closed, rec(2, 0.51, 0.6))])
        for contract in ("T2", "T3", "T4"):
            assert checks.check(replace(case, contract=contract), ok(), resent, jdk).passed, (
                contract
            )
        twice = Evidence.of_attempts(
            [
                Attempt.from_json(r)
                for r in (closed, dict(closed, seq=2, start=0.51, end=0.6), rec(3, 0.61, 0.7))
            ]
        )
        verdict = checks.check(replace(case, contract="T2"), ok(), twice, jdk)
        assert not verdict.passed and "2 attempts" in verdict.reason
        assert not checks.check(replace(case, contract="T3"), ok(), twice, jdk).passed


class TestT5:
    def test_holds_when_quiet_after_success(self) -> None:
        assert judge("T5", ok(), [disc(1, 0, 0.1), rec(2, 0.2, 0.3)], target="devices").passed

    def test_bites_on_polling_after_success(self) -> None:
        verdict = judge(
            "T5", ok(), [disc(1, 0, 0.1), rec(2, 0.2, 0.3), rec(3, 0.4, 0.5)], target="devices"
        )
        assert not verdict.passed and "sent again" in verdict.reason


class TestT6T7T8:
    def test_t6_checks_the_category(self) -> None:
        records = [
            rec(
                1,
                0,
                0.1,
                phase="connect",
                method=None,
                status=502,
                client_end="completed",
                operation=None,
            )
        ]
        expect = frozenset({"connection_error"})
        assert judge("T6", err("connection_error"), records, expect=expect).passed
        assert not judge("T6", err("server_error"), records, expect=expect).passed

    def test_t7_bites_on_success_from_a_cut_body(self) -> None:
        cut = [
            rec(
                i,
                i,
                i + 0.1,
                fault=fault("body_cut", bytes=100, then="close"),
                client_end="proxy_closed",
                phase="response",
            )
            for i in (1, 2, 3)
        ]
        expect = frozenset({"connection_error", "parse_error", "timeout"})
        assert not judge("T7", ok(), cut, target="devices", expect=expect).passed
        assert judge("T7", err("connection_error"), cut, target="devices", expect=expect).passed
        assert judge("T7", ok(), [*cut, rec(4, 5, 5.1)], target="devices", expect=expect).passed

    def test_t8_counts_executions_on_the_server(self) -> None:
        case = Case(contract="T8", title="t", operation="action", device_key="0026B424FEB4")
        action_ok = ok({"action_status": True, "failure_reason": None}, op="action")
        once = Evidence.of_attempts([], actions=[("full_wipe", "0026B424FEB4")])
        twice = Evidence.of_attempts([], actions=[("full_wipe", "0026B424FEB4")] * 2)
        never = Evidence.of_attempts([])
        assert checks.check(case, action_ok, once, POLICY).passed
        assert not checks.check(case, err("timeout", op="action"), twice, POLICY).passed
        assert not checks.check(case, action_ok, never, POLICY).passed
        assert checks.check(case, err("timeout", op="action"), never, POLICY).passed


class TestParsing:
    expected: ClassVar[dict[str, Any]] = {
        "devices": [
            {
                "macaddress": "0026B424FEB4",
                "model": "iPad",
                "last_checkin_ms": 5,
                "jail_broken": False,
            }
        ]
    }

    def test_p1_ignores_extra_keys_and_surrounding_space(self) -> None:
        got = {
            "devices": [
                {
                    "macaddress": "0026B424FEB4",
                    "model": " iPad\n",
                    "last_checkin_ms": 5,
                    "jail_broken": False,
                    "x": 1,
                }
            ],
            "y": 2,
        }
        assert judge("P1", ok(got), [], expected_result=self.expected).passed

    @pytest.mark.parametrize(
        ("field", "value", "message"),
        [
            ("model", "iPhone", "expected 'iPad'"),
            ("last_checkin_ms", "5", "expected 5"),
            ("jail_broken", 0, "expected False"),
            ("jail_broken", None, "expected False"),
        ],
    )
    def test_p1_bites_on_a_wrong_value(self, field: str, value: Any, message: str) -> None:
        device = dict(self.expected["devices"][0], **{field: value})
        verdict = judge("P1", ok({"devices": [device]}), [], expected_result=self.expected)
        assert not verdict.passed and message in verdict.reason and field in verdict.reason

    def test_p1_bites_on_a_missing_device(self) -> None:
        verdict = judge("P1", ok({"devices": []}), [], expected_result=self.expected)
        assert not verdict.passed and "expected 1 item(s), got 0" in verdict.reason

    def test_p2_wants_parse_error(self) -> None:
        expect = frozenset({"parse_error"})
        assert judge("P2", err("parse_error"), [], expect=expect).passed
        assert not judge("P2", ok(), [], expect=expect).passed

    def test_p5_bounds_the_time_after_the_last_byte(self) -> None:
        page = [rec(1, 0, 1.0, operation="noncompliant")]
        expected = {"devices": []}
        assert judge(
            "P5", ok(took=2.0), page, target="noncompliant", expected_result=expected, bound_s=2.0
        ).passed
        verdict = judge(
            "P5", ok(took=4.0), page, target="noncompliant", expected_result=expected, bound_s=2.0
        )
        assert not verdict.passed and "took 3.00 s" in verdict.reason


class TestProtocol:
    def test_r1_follows_the_given_api_path(self) -> None:
        good = [disc(1, 0, 0.1), rec(2, 0.2, 0.3, path="/x/y/devices/")]
        assert judge("R1", ok(), good, api_path="/x/y").passed
        verdict = judge("R1", ok(), [disc(1, 0, 0.1), rec(2, 0.2, 0.3)], api_path="/x/y")
        assert not verdict.passed and "not under the api_path" in verdict.reason

    def test_r1_wants_ise_api_version(self) -> None:
        records = [disc(1, 0, 0.1), rec(2, 0.2, 0.3, path="/x/y/devices/")]
        records[0]["params"] = {}
        assert not judge("R1", ok(), records, api_path="/x/y").passed

    def test_r2_v1_answer_means_the_path_form(self) -> None:
        v1 = rec(2, 0.2, 0.3, path="/x/devices/0/macaddress/0026B424FEB4/all", params={})
        assert judge("R2", ok(), [disc(1, 0, 0.1), v1], api_version=1).passed
        assert not judge("R2", ok(), [disc(1, 0, 0.1), rec(2, 0.2, 0.3)], api_version=1).passed

    def test_r2_refused_discovery_must_stop(self) -> None:
        expect = frozenset({"protocol_error", "parse_error"})
        assert judge("R2", err("protocol_error"), [disc(1, 0, 0.1)], expect=expect).passed
        verdict = judge("R2", ok(), [disc(1, 0, 0.1), rec(2, 0.2, 0.3)], expect=expect)
        assert not verdict.passed and "went on" in verdict.reason

    def test_r3_wants_twelve_upper_case_hex(self) -> None:
        good = rec(2, 0.2, 0.3)
        bad = rec(2, 0.2, 0.3, params={"value": ["00:26:b4:24:fe:b4"]})
        kw = {"device_key": "0026B424FEB4", "mac_written": "00:26:b4:24:fe:b4"}
        assert judge("R3", ok(), [good], **kw).passed
        assert not judge("R3", ok(), [bad], **kw).passed

    def test_r4_cursors_verbatim(self) -> None:
        cursors = ("a+b/=", "c%20d", "0")
        pages = [
            rec(i, i, i + 0.1, operation="noncompliant", params={"paging": [p]})
            for i, p in enumerate(["0", "a+b/=", "c%20d"], 1)
        ]
        assert judge("R4", ok(), pages, cursors=cursors, expected_result={"devices": []}).passed
        mangled = [
            rec(i, i, i + 0.1, operation="noncompliant", params={"paging": [p]})
            for i, p in enumerate(["0", "a b/=", "c d"], 1)
        ]
        assert not judge("R4", ok(), mangled, cursors=cursors).passed

    def test_r5_loop_must_stop_at_the_first_repeat(self) -> None:
        expect = frozenset({"protocol_error"})
        short = [
            rec(i, i, i + 0.1, operation="noncompliant", params={"paging": [p]})
            for i, p in enumerate(["0", "L", "L"], 1)
        ]
        long = [
            rec(
                i, i, i + 0.1, operation="noncompliant", params={"paging": ["0" if i == 1 else "L"]}
            )
            for i in range(1, 30)
        ]
        assert judge("R5", err("protocol_error"), short, expect=expect).passed
        assert not judge("R5", err("protocol_error"), long, expect=expect).passed

    def test_r6_empty_list(self) -> None:
        assert judge("R6", ok({"devices": []}), []).passed
        assert not judge("R6", err("not_found"), []).passed


class TestSecurity:
    def test_s1_no_request_over_a_bad_certificate(self) -> None:
        refused = [rec(1, 0, 0.1, phase="tls", method=None, client_end="tls_failed", status=None)]
        assert judge("S1", err("tls_error"), refused).passed
        assert not judge("S1", ok(), [rec(1, 0, 0.1)]).passed

    def test_s2_canary_silence(self) -> None:
        case = Case(contract="S2", title="t", operation="device", expect=frozenset({"parse_error"}))
        quiet = Evidence.of_attempts([])
        loud = Evidence.of_attempts([], canary_hits=[{"token": "t", "peer": "127.0.0.1"}])
        assert checks.check(case, err("parse_error"), quiet, POLICY).passed
        verdict = checks.check(case, err("parse_error"), loud, POLICY)
        assert not verdict.passed and "fetched the external entity" in verdict.reason

    def test_s4_credentials_stay_home(self) -> None:
        assert judge("S4", ok(), [rec(1, 0, 0.1)], host=HOST).passed
        assert not judge(
            "S4", ok(), [rec(1, 0, 0.1, host="evil.mdm-harness.test")], host=HOST
        ).passed
        assert not judge("S4", ok(), [rec(1, 0, 0.1, scheme="http")], host=HOST).passed
        assert judge("S4", ok(), [rec(1, 0, 0.1, scheme="http", auth=None)], host=HOST).passed

    def test_s5_password_nowhere(self) -> None:
        secrets = checks.secrets_of("ise", "s3cr3t-Pa55")
        case = Case(contract="S5", title="t", operation="mdminfo")
        clean = err("unauthorized", op="mdminfo")
        leaky = err(
            "unauthorized", op="mdminfo", stderr="Authorization: Basic aXNlOnMzY3IzdC1QYTU1"
        )
        known = Evidence((), secrets=secrets)
        assert checks.check(case, clean, known, POLICY).passed
        verdict = checks.check(case, leaky, known, POLICY)
        assert not verdict.passed and "Basic credentials" in verdict.reason


def test_timeline_is_readable() -> None:
    journal = Evidence.of_attempts(
        [
            Attempt.from_json(r)
            for r in [
                disc(1, 10.0, 10.01),
                rec(2, 10.2, 10.25, status=503, fault=fault("respond", status=503)),
            ]
        ]
    )
    lines = journal.timeline()
    assert lines[0].startswith(
        "+  0.000s #1 https://acme.jamfcloud.test GET /networkIntegrationEndpoint/7/ciscoise/mdminfo/?ise_api_version=3"
    )
    assert "fault=respond -> 503" in lines[1]


def test_s3_bounds_time_and_memory() -> None:
    case = Case(
        contract="S3", title="t", operation="device", expect=frozenset({"parse_error"}), bound_s=5.0
    )
    lean = err("parse_error", took=0.2, max_rss_kb=60_000)
    fat = err("parse_error", took=0.2, max_rss_kb=checks.MEMORY_BOUND_KIB + 1)
    slow = err("parse_error", took=9.0)
    assert checks.check(case, lean, Evidence(()), POLICY).passed
    verdict = checks.check(case, fat, Evidence(()), POLICY)
    assert not verdict.passed and "MiB of memory" in verdict.reason
    assert "peak memory" in verdict.evidence[0]
    assert not checks.check(case, slow, Evidence(()), POLICY).passed
    assert not checks.check(case, ok(), Evidence(()), POLICY).passed


class TestWireFacts:
    """failure_of reads the record's wire facts - never the fault that caused them."""

    @pytest.mark.parametrize(
        ("fields", "kind", "status"),
        [
            (
                {"phase": "connect", "method": None, "operation": None, "status": 502},
                "connect_refused",
                502,
            ),
            (
                {
                    "phase": "connect",
                    "method": None,
                    "operation": None,
                    "status": None,
                    "client_end": "client_closed",
                },
                "connect_timeout",
                None,
            ),
            (
                {
                    "phase": "tls",
                    "method": None,
                    "operation": None,
                    "status": None,
                    "client_end": "proxy_reset",
                },
                "connect_closed",
                None,
            ),
            (
                {
                    "phase": "tls",
                    "method": None,
                    "operation": None,
                    "status": None,
                    "client_end": "tls_failed",
                },
                "tls_error",
                None,
            ),
            ({"certificate": "expired"}, "tls_error", None),
            (
                {"phase": "request", "status": None, "client_end": "client_closed"},
                "read_timeout",
                None,
            ),
            (
                {"phase": "response", "status": None, "client_end": "proxy_closed"},
                "closed_before_response",
                None,
            ),
            ({"phase": "response", "client_end": "proxy_reset"}, "closed_mid_response", 200),
            ({"status": 503}, "status", 503),
            ({"body": "malformed"}, "parse_error", 200),
            ({}, "ok", 200),
        ],
    )
    def test_failure_kinds(self, fields: dict[str, Any], kind: str, status: int | None) -> None:
        record = rec(1, 0.0, 1.0, **fields)
        assert failure_of(Attempt.from_json(record)) == (kind, status)

    def test_there_is_one_reading_of_an_attempt(self) -> None:
        """The contracts and ``policy infer`` read an attempt's failure through one function,
        beside the record it reads: a second copy would drift (issue 12, D)."""
        root = Path(harness.__file__).parent
        defining = sorted(
            str(p.relative_to(root))
            for p in root.rglob("*.py")
            if re.search(r"^def (failure_of|_?is_challenge|_challenge)\b", p.read_text(), re.M)
        )
        assert defining == ["attempt.py"]

    def test_a_record_whose_fault_says_otherwise_is_judged_by_the_wire(self) -> None:
        # the fault is named "reset", but a whole 200 went out: it is a success
        record = rec(1, 0.0, 1.0, fault=fault("reset"))
        assert failure_of(Attempt.from_json(record)) == ("ok", 200)

    def test_connection_failures_belong_to_the_request_the_client_was_making(self) -> None:
        case = Case(contract="T2", title="t", operation="device")
        refused = {"phase": "connect", "method": None, "operation": None, "status": 502}
        records = [
            rec(1, 0.0, 0.01, **refused),
            disc(2, 0.2, 0.21),
            rec(3, 0.3, 0.31, status=503),
            rec(4, 0.5, 0.51, **refused),
        ]
        evidence = Evidence.of_attempts([Attempt.from_json(r) for r in records])
        chains = {c.key[0]: c for c in checks.chains_of(case, evidence, POLICY)}
        assert [a.seq for a in chains["mdminfo"].attempts] == [1, 2]
        assert [a.seq for a in chains["devices"].attempts] == [3, 4]
        assert [t.how for t in chains["devices"].transitions] == ["retry"]


class TestChallenge:
    """An answered authentication challenge (RFC 9110 section 11) is not a retry."""

    challenge: ClassVar[list[tuple[str, str]]] = [("WWW-Authenticate", 'Basic realm="Jamf Pro"')]

    def test_a_401_challenge_answered_with_credentials_is_not_a_retry(self) -> None:
        records = [
            disc(1, 0, 0.01, status=401, headers=self.challenge, auth=None),
            disc(2, 0.02, 0.03),
        ]
        for contract in ("T2", "T3", "T4"):
            verdict = judge(contract, ok(op="mdminfo"), records, operation="mdminfo")
            assert verdict.passed, (contract, verdict.reason)

    @pytest.mark.parametrize(
        ("first_auth", "header"), [({"scheme": "Basic", "hash": "0123"}, True), (None, False)]
    )
    def test_a_401_to_credentials_or_without_a_challenge_is_not_an_excuse(
        self, first_auth: dict[str, str] | None, header: bool
    ) -> None:
        records = [
            rec(1, 0, 0.01, status=401, headers=self.challenge if header else [], auth=first_auth),
            rec(2, 0.2, 0.21, status=401),
        ]
        verdict = judge("T3", err("unauthorized"), records)
        assert not verdict.passed and "status 401, which is never retried" in verdict.reason

    def test_a_repeat_after_the_answered_challenge_is_a_retry(self) -> None:
        records = [
            rec(1, 0, 0.01, status=401, headers=self.challenge, auth=None),
            rec(2, 0.02, 0.03, status=401, headers=self.challenge),
            rec(3, 0.2, 0.21, status=401, headers=self.challenge),
        ]
        verdict = judge("T3", err("unauthorized"), records)
        assert not verdict.passed and "attempt #3 retried after status 401" in verdict.reason


class TestS2Files:
    def test_the_canary_token_must_not_appear_in_the_answer(self) -> None:
        case = Case(
            contract="S2",
            title="t",
            operation="device",
            expect=frozenset({"parse_error", "ok"}),
            canary_token="mdmh-leak-00ff",
        )
        quiet = Evidence.of_attempts([])
        clean = ok({"devices": [{"model": "iPad"}]})
        leaked = ok({"devices": [{"model": "iPmdmh-leak-00ffad"}]})
        assert checks.check(case, clean, quiet, POLICY).passed
        verdict = checks.check(case, leaked, quiet, POLICY)
        assert not verdict.passed and "token appears in result" in verdict.reason
        in_stderr = err("parse_error", stderr="entity resolved to mdmh-leak-00ff")
        assert "stderr" in checks.check(case, in_stderr, quiet, POLICY).reason
