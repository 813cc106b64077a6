"""Hypothesis strategies for the ISE MDM API: documents, cursors and fault schedules.

Every document strategy yields a :class:`Document`: the bytes a client receives, paired with
what a correct client concludes (``expected`` and the acceptable ``outcomes``). Valid documents
come in the variants real servers send; refused ones are malformed, incomplete, mistyped or
hostile. Strategies shrink towards the plainest example of their kind.
"""

from ._documents import (
    EMPTY_DEVICE,
    MAC_FORMS,
    STYLE_FAMILIES,
    Document,
    Kind,
    action_documents,
    attributes_documents,
    devices,
    full_page,
    mac_address_forms,
    mdminfo_documents,
    reordered_documents,
    styles,
    valid_documents,
    xml_strings,
)
from ._faults import (
    CONNECTION_STEPS,
    FINAL_STEPS,
    REQUEST_STEPS,
    RETRYABLE_STEPS,
    STATUS_CANDIDATES,
    FailureStep,
    describe_schedule,
    fault_schedules,
    policy_schedules,
    policy_steps,
    status_step,
)
from ._hostile import (
    HOSTILITIES,
    MALFORMATIONS,
    hostile_document,
    hostile_documents,
    incomplete_documents,
    malformed_documents,
    mistyped_documents,
    refused_documents,
)
from ._paging import paging_cursor_sequences, paging_cursors
from ._policies import policies, policy_texts
from ._xml import Node, Style, render, trimmed

__all__ = [
    "CONNECTION_STEPS",
    "EMPTY_DEVICE",
    "FINAL_STEPS",
    "HOSTILITIES",
    "MAC_FORMS",
    "MALFORMATIONS",
    "REQUEST_STEPS",
    "RETRYABLE_STEPS",
    "STATUS_CANDIDATES",
    "STYLE_FAMILIES",
    "Document",
    "FailureStep",
    "Kind",
    "Node",
    "Style",
    "action_documents",
    "attributes_documents",
    "describe_schedule",
    "devices",
    "fault_schedules",
    "full_page",
    "hostile_document",
    "hostile_documents",
    "incomplete_documents",
    "mac_address_forms",
    "malformed_documents",
    "mdminfo_documents",
    "mistyped_documents",
    "paging_cursor_sequences",
    "paging_cursors",
    "policies",
    "policy_schedules",
    "policy_steps",
    "policy_texts",
    "refused_documents",
    "render",
    "reordered_documents",
    "status_step",
    "styles",
    "trimmed",
    "valid_documents",
    "xml_strings",
]
