"""Transport contracts T1-T8: timeouts, attempts, retries, backoff, quiet after success, early
failures, cut bodies, and actions executed at most once."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.contracts import cases
from harness.contracts.config import suite_settings
from harness.contracts.session import ContractHarness
from harness.contracts.strategies import attributes_documents, fault_schedules

from .strategies._faults import FINAL_STEPS, RETRYABLE_STEPS

pytestmark = pytest.mark.transport


@pytest.mark.contract("T1")
@pytest.mark.parametrize("phase", cases.HANG_PHASES)
def test_t1_a_hang_ends_at_the_declared_timeout(mdm_harness: ContractHarness, phase: str) -> None:
    mdm_harness.certify(cases.t1_hang(mdm_harness.site, phase))


@pytest.mark.contract("T2")
@suite_settings()
@given(
    schedule=fault_schedules(min_size=5, max_size=6, then_pass=False),
    operation=st.sampled_from(["device", "mdminfo"]),
)
def test_t2_never_more_attempts_than_declared(
    mdm_harness: ContractHarness, schedule: list[object], operation: str
) -> None:
    mdm_harness.certify(cases.t2_failing_schedule(mdm_harness.site, schedule, operation=operation))


@pytest.mark.contract("T3")
@pytest.mark.parametrize("status", FINAL_STEPS)
def test_t3_client_errors_are_never_retried(mdm_harness: ContractHarness, status: str) -> None:
    expect = {
        "status_400": "protocol_error",
        "status_401": "unauthorized",
        "status_403": "unauthorized",
        "status_404": "not_found",
    }[status]
    mdm_harness.certify(cases.t3_not_retried(mdm_harness.site, status, expect=frozenset({expect})))


@pytest.mark.contract("T3")
def test_t3_discovery_401_falls_back_only_as_declared(mdm_harness: ContractHarness) -> None:
    case = cases.t3_not_retried(
        mdm_harness.site, "unauthorized", operation="mdminfo", expect=frozenset({"unauthorized"})
    )
    mdm_harness.certify(case)


@pytest.mark.contract("T3")
def test_t3_an_undeclared_server_error_is_not_retried(mdm_harness: ContractHarness) -> None:
    policy = mdm_harness.policy
    status = next((s for s in (500, 501, 505, 507, 511) if not policy.retries(status=s)), None)
    if status is None:
        pytest.skip("the policy retries every 5xx status; T3 has no undeclared one to judge")
    case = cases.t3_not_retried(
        mdm_harness.site, f"status_{status}", expect=frozenset({"server_error"})
    )
    mdm_harness.certify(case)


@pytest.mark.contract("T3")
def test_t3_an_undeclared_parse_error_is_not_retried(mdm_harness: ContractHarness) -> None:
    if mdm_harness.policy.retries(category="parse_error"):
        pytest.skip("the policy retries parse errors; T3 has nothing undeclared to judge here")
    case = cases.t3_not_retried(mdm_harness.site, "xml_truncate", expect=frozenset({"parse_error"}))
    mdm_harness.certify(case)


@pytest.mark.contract("T4")
@pytest.mark.parametrize(
    "schedule",
    [
        ["status_503", "status_503", "pass"],
        [{"kind": "retry_after", "status": 503, "retry_after_s": 1}, "pass"],
        ["reset", "pass"],
        ["close", "status_502", "pass"],
    ],
    ids=["503-503", "retry-after-1s", "reset", "close-502"],
)
def test_t4_retries_wait_the_declared_backoff(
    mdm_harness: ContractHarness, schedule: list[object]
) -> None:
    mdm_harness.certify(cases.t4_backoff(mdm_harness.site, schedule))


@pytest.mark.contract("T5")
@pytest.mark.parametrize("operation", ["mdminfo", "device", "noncompliant"])
@suite_settings(scale=0.5)
@given(schedule=fault_schedules(steps=RETRYABLE_STEPS, min_size=0, max_size=2))
def test_t5_nothing_is_sent_after_success(
    mdm_harness: ContractHarness, operation: str, schedule: list[object]
) -> None:
    mdm_harness.certify(
        cases.t5_success(mdm_harness.site, operation, schedule if len(schedule) > 1 else [])
    )


@pytest.mark.contract("T6")
@pytest.mark.parametrize("name", list(cases.EARLY_FAILURES))
def test_t6_connect_and_tls_failures_are_reported_as_such(
    mdm_harness: ContractHarness, name: str
) -> None:
    mdm_harness.certify(cases.t6_early_failure(mdm_harness.site, name))


@pytest.mark.contract("T7")
@pytest.mark.parametrize(
    ("nbytes", "then"),
    [(0, "close"), (100, "close"), (100, "reset"), (10**9, "close"), (10**9, "reset")],
)
def test_t7_a_cut_body_is_never_success(
    mdm_harness: ContractHarness, nbytes: int, then: str
) -> None:
    mdm_harness.certify(cases.t7_cut_body(mdm_harness.site, nbytes=nbytes, then=then))


@pytest.mark.contract("T7")
@pytest.mark.parametrize("then", ["close", "reset"])
@suite_settings(examples=2)
@given(doc=attributes_documents(min_devices=1, max_devices=2, canonical=True))
def test_t7_complete_xml_short_of_its_length_is_never_success(
    mdm_harness: ContractHarness, then: str, doc: cases.Document
) -> None:
    mdm_harness.certify(cases.t7_complete_then_cut(mdm_harness.site, doc, then=then))


@pytest.mark.contract("T8")
@pytest.mark.parametrize("fault", list(cases.ACTION_FAULTS))
@pytest.mark.parametrize("action", ["full_wipe", "corporate_wipe"])
def test_t8_an_action_runs_at_most_once(
    mdm_harness: ContractHarness, fault: str, action: str
) -> None:
    times = 1 if fault == "connect-refused" else None
    mdm_harness.certify(cases.t8_action(mdm_harness.site, fault, action, times=times))
