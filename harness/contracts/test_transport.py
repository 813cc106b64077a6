"""Transport contracts T1-T8: timeouts, attempts, retries, backoff, quiet after success, early
failures, cut bodies, and actions executed at most once."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.contracts import cases
from harness.contracts.config import suite_settings
from harness.contracts.session import ContractHarness
from harness.contracts.strategies import (
    FINAL_STEPS,
    attributes_documents,
    policy_schedules,
    policy_steps,
)

pytestmark = pytest.mark.transport


@pytest.mark.contract("T1")
@pytest.mark.parametrize("phase", cases.HANG_PHASES)
def test_t1_a_hang_ends_at_the_declared_timeout(mdm_harness: ContractHarness, phase: str) -> None:
    mdm_harness.certify(cases.t1_hang(mdm_harness.site, phase))


@pytest.mark.contract("T2")
@suite_settings()
@given(data=st.data(), operation=st.sampled_from(["device", "mdminfo"]))
def test_t2_never_more_attempts_than_declared(
    mdm_harness: ContractHarness, data: st.DataObject, operation: str
) -> None:
    policy = mdm_harness.policy
    steps = policy_steps(policy, operation=operation) or policy_steps(
        policy, operation=operation, retried=False
    )
    drawn = data.draw(st.lists(st.sampled_from(steps), min_size=1, max_size=2), label="failures")
    mdm_harness.certify(cases.t2_failing_schedule(mdm_harness.site, drawn, operation=operation))


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
@suite_settings(scale=0.5)
@given(data=st.data())
def test_t3_an_undeclared_failure_is_not_retried(
    mdm_harness: ContractHarness, data: st.DataObject
) -> None:
    """Drawn from what the policy does not retry (nor re-send): a status, a cut or closed
    answer, a malformed body - on every attempt."""
    steps = policy_steps(mdm_harness.policy, retried=False)
    step = data.draw(st.sampled_from(steps), label="failure")
    case = cases.t3_not_retried(mdm_harness.site, step, expect=frozenset({step.category}))
    mdm_harness.certify(case)


@pytest.mark.contract("T4")
@suite_settings(scale=0.5)
@given(data=st.data())
def test_t4_retries_wait_the_declared_backoff(
    mdm_harness: ContractHarness, data: st.DataObject
) -> None:
    """Failures the policy retries, then success; with nothing retryable, a failure that is
    reported without a retry."""
    policy = mdm_harness.policy
    steps = data.draw(policy_schedules(policy, max_failures=2), label="failures")
    case = (
        cases.t4_backoff(mdm_harness.site, policy, steps)
        if steps
        else cases.t4_unretried(mdm_harness.site, policy)
    )
    mdm_harness.certify(case)


@pytest.mark.contract("T4")
def test_t4_retry_after_decides_the_wait_as_declared(mdm_harness: ContractHarness) -> None:
    mdm_harness.certify(cases.t4_retry_after(mdm_harness.site, mdm_harness.policy))


@pytest.mark.contract("T4")
@suite_settings(examples=2)
@given(data=st.data())
def test_t4_connection_failures_wait_the_declared_backoff(
    mdm_harness: ContractHarness, data: st.DataObject
) -> None:
    policy = mdm_harness.policy
    steps = data.draw(
        policy_schedules(policy, level="connection", max_failures=2), label="failures"
    )
    case = (
        cases.t4_backoff(mdm_harness.site, policy, steps)
        if steps
        else cases.t4_unretried(mdm_harness.site, policy, level="connection")
    )
    mdm_harness.certify(case)


@pytest.mark.contract("T5")
@pytest.mark.parametrize("operation", ["mdminfo", "device", "noncompliant"])
@suite_settings(scale=0.5)
@given(data=st.data())
def test_t5_nothing_is_sent_after_success(
    mdm_harness: ContractHarness, operation: str, data: st.DataObject
) -> None:
    steps = data.draw(
        policy_schedules(mdm_harness.policy, operation=operation, min_failures=0),
        label="failures",
    )
    mdm_harness.certify(cases.t5_success(mdm_harness.site, operation, steps))


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
