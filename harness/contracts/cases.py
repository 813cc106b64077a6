"""The contract cases: a scenario, an operation, and what a correct client concludes.

Each builder returns a :class:`~harness.contracts.model.Case`. Cases only describe; the
harness (:mod:`harness.contracts.session`) runs them and the checks judge them. A case's
scenario is a checked :class:`~harness.scenario.Scenario` (built with the helpers of
``_scenarios.py``), so a failing case is exported as a file that ``mdm-harness replay`` runs
again. The builders live in ``_transport_cases.py`` (T1-T8) and ``_document_cases.py``
(P, R and S); this module is the one place the suite and the tests import them from.
"""

from __future__ import annotations

from ._case_site import Site
from ._document_cases import (
    p5_full_page,
    r1_api_path,
    r2_version,
    r3_mac,
    r4_pages,
    r5_loop,
    r6_unregistered,
    s1_bad_certificate,
    s2_file_xxe,
    s2_xxe,
    s3_bomb,
    s4_redirect,
    s5_output,
    served,
)
from ._transport_cases import (
    ACTION_FAULTS,
    CONNECTION_ERRORS,
    CUT_BODY_OUTCOMES,
    EARLY_FAILURES,
    HANG_PHASES,
    outcome_of,
    retry_after_status,
    t1_hang,
    t2_failing_schedule,
    t3_not_retried,
    t4_backoff,
    t4_retry_after,
    t4_unretried,
    t5_success,
    t6_early_failure,
    t7_complete_then_cut,
    t7_cut_body,
    t8_action,
)
from .strategies import Document

__all__ = [
    "ACTION_FAULTS",
    "CONNECTION_ERRORS",
    "CUT_BODY_OUTCOMES",
    "EARLY_FAILURES",
    "HANG_PHASES",
    "Document",
    "Site",
    "outcome_of",
    "p5_full_page",
    "r1_api_path",
    "r2_version",
    "r3_mac",
    "r4_pages",
    "r5_loop",
    "r6_unregistered",
    "retry_after_status",
    "s1_bad_certificate",
    "s2_file_xxe",
    "s2_xxe",
    "s3_bomb",
    "s4_redirect",
    "s5_output",
    "served",
    "t1_hang",
    "t2_failing_schedule",
    "t3_not_retried",
    "t4_backoff",
    "t4_retry_after",
    "t4_unretried",
    "t5_success",
    "t6_early_failure",
    "t7_complete_then_cut",
    "t7_cut_body",
    "t8_action",
]
