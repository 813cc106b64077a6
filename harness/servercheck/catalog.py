"""The server contract catalog: what an MDM server must do for ISE, each rule with its source.

One table that the checks, the report, the docs and the CLI read (``docs/servers.md`` mirrors
it, and a test keeps the two in step). Ids are a letter per group and a number:
``D`` discovery, ``L`` lookups, ``G`` paging, ``A`` authentication, ``X`` XML, ``B``/``C``
timing and concurrency, ``K`` actions (only with ``--allow-actions``).

A contract's **level** decides what its failure means:

* ``MUST`` - Cisco's API description, HTTP, or what ISE cannot work without: a failure breaks
  certification;
* ``SHOULD`` - something ISE tolerates (real servers do it and ISE copes) or the harness's
  advice: shown in the report as advice, never failing it.

``source`` says where the rule comes from: ``spec`` (Cisco's Swagger, in the shared
reference), ``seed`` (the ISE/Jamf TechNote), ``field`` (what real servers send and ISE
accepts), ``http`` (the HTTP RFCs) or ``ours`` (a decision of this project, reasoned in
``docs/servers.md``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

__all__ = ["CONTRACTS", "GROUPS", "Level", "ServerContract"]

Level = Literal["MUST", "SHOULD"]

#: The groups, in the order the report lists them.
GROUPS: tuple[str, ...] = ("discovery", "lookups", "paging", "auth", "xml", "timing", "actions")


@dataclass(frozen=True)
class ServerContract:
    """One contract of the server suite (the same fields as a client contract)."""

    id: str
    group: str
    level: Level
    #: The promise, one line.
    promise: str
    #: What a correct server does, one sentence (shown with a failure as "the rule").
    correct: str
    #: Where the rule comes from, with a pointer.
    source: str

    @property
    def anchor(self) -> str:
        """The section of ``docs/servers.md`` that explains the contract."""
        return f"docs/servers.md#{self.id.lower()}"


def _c(
    cid: str, group: str, level: Level, promise: str, correct: str, source: str
) -> ServerContract:
    return ServerContract(cid, group, level, promise, correct, source)


_ALL = (
    _c(
        "D1",
        "discovery",
        "MUST",
        "api_version is never above the version asked",
        "Discovery answers an api_version no higher than the ise_api_version asked (1 for the v1 form, which asks none).",
        "spec (v3 mdm-server-info: api_version 'should be equal to or less than ISE supported version shared in API call/request URL')",
    ),
    _c(
        "D2",
        "discovery",
        "MUST",
        "the discovery answer is a valid mdminfo document for its api_version",
        "Discovery answers name, api_version, api_path, redirect_url, query_max_size (an integer of at least 1) and messaging_support, and from v3 on vendor, product_name and product_version, as mdminfo.xsd and mdminfo-v3.xsd say.",
        "spec (mdm-server-info: required attributes and types; vendor fields mandatory from v3)",
    ),
    _c(
        "D3",
        "discovery",
        "MUST",
        "the api_path it announces is usable as given",
        "A device query sent under the announced api_path, joined to the server's origin (the instance prefix is part of api_path), is answered by the API: 200, not 404.",
        "spec (api_path: 'API path to get device compliance'); seed (apiPath carries the instance ID)",
    ),
    _c(
        "D4",
        "discovery",
        "SHOULD",
        "discovery answers at Cisco's v1 URL too, without a redirect",
        "GET {instance}/ciscoise/mdminfo (no trailing slash, Cisco's v1 URL) answers the discovery document itself, as mdminfo/ does.",
        "spec (v1 URL https://mdm-server/ciscoise/mdminfo); field (servers that redirect it; ISE follows)",
    ),
    _c(
        "L1",
        "lookups",
        "MUST",
        "a known device is found by every criterion its version defines, in the version's form",
        "A lookup of a device it manages answers 200 with that device in deviceList - by macaddress (12 upper-case hex digits, as ISE sends it), username and compliance, from v2 by udid, imei and meid, from v3 by guid and guidhn - in path segments for v1 and query parameters for v2/v3.",
        "spec (querycriteria per version; v1 path form, v2/v3 query form); field (ISE sends MACs upper case)",
    ),
    _c(
        "L2",
        "lookups",
        "MUST",
        "an unknown device gives 200 with an empty deviceList",
        "A lookup of a device it does not know answers 200 with an empty deviceList: never 404, never other devices.",
        "spec (unregistered device: 'empty deviceList in v2 and v3')",
    ),
    _c(
        "L3",
        "lookups",
        "MUST",
        "every lookup of one device answers with that same device",
        "Whatever criterion finds a device, the answer holds that device: the key element echoes the MAC or GUID asked, its GUID, MACs, UDID, IMEI and MEID agree with the lookup by MAC, and a v3 answer to a MAC, UDID, IMEI or MEID lookup carries the device's guid.",
        "spec (GUID 'the key identity of the device'; v3 answers to legacy-identifier lookups include guid)",
    ),
    _c(
        "L4",
        "lookups",
        "MUST",
        "the attributes a filter asks for are in the answer",
        "A lookup with filter=register_status+compliance_status (Cisco's example) answers with the device's register_status and compliance.",
        "spec (filter: the attributes to return)",
    ),
    _c(
        "L5",
        "lookups",
        "SHOULD",
        "a filter leaves out the attributes not asked for",
        "A lookup with a filter answers with the attributes asked for and no others.",
        "spec (filter); ours (SHOULD: ISE asks filter=all, so extra attributes cost it only bytes)",
    ),
    _c(
        "L6",
        "lookups",
        "SHOULD",
        "MAC addresses in answers are 12 upper-case hex digits",
        "Every MAC it writes (the macaddress key, macaddresses) is 12 upper-case hex digits without separators, the form ISE sends.",
        "spec (macaddress 'standardize as 12 HEX without separator'); field (lower case is seen, and ISE accepts it)",
    ),
    _c(
        "L7",
        "lookups",
        "SHOULD",
        "an answer's api_version is the version of the api_path it came in on",
        "A device answer under the api_path of version N says api_version N.",
        "spec (api_version); field (servers answer 2 under a v3 api_path, and ISE accepts it)",
    ),
    _c(
        "G1",
        "paging",
        "MUST",
        "a walk of the non-compliant listing ends and never returns a device twice",
        "Following paging_info from paging=0, the non-compliant listing ends (paging_info 0 or absent) and no device comes twice.",
        "spec (paging: 'If paging info is 0 in response, or it doesn't return paging info, all records have been returned')",
    ),
    _c(
        "G2",
        "paging",
        "MUST",
        "no page holds more than query_max_size devices",
        "Each page of a listing holds at most the query_max_size discovery announced.",
        "spec (query_max_size: 'maximum number of records that can be retrieved at a time')",
    ),
    _c(
        "G3",
        "paging",
        "MUST",
        "a paging cursor sent back verbatim is accepted",
        "The paging_info it sends, sent back exactly (URL-encoded) as paging=, is answered 200 with the next page.",
        "spec (paging_info 'will be part of the URL in next call from Cisco ISE')",
    ),
    _c(
        "G4",
        "paging",
        "MUST",
        "server_busy_wait_seconds, when sent, is a non-negative integer",
        "server_busy_wait_seconds, when present, is an integer of 0 or more.",
        "spec (server_busy_wait_seconds: integer); ours (a wait cannot be negative)",
    ),
    _c(
        "G5",
        "paging",
        "SHOULD",
        "server_busy_wait_seconds stays within an hour",
        "server_busy_wait_seconds, when present, is at most 3600.",
        "ours (Cisco gives no range; more than an hour per page stalls a poll of a few pages past the seed's 4-hour polling interval)",
    ),
    _c(
        "A1",
        "auth",
        "MUST",
        "missing or wrong credentials give 401, and no device data",
        "A request without credentials, or with a wrong password, is answered 401 (not 200, 403 or 5xx) and its body holds no device.",
        "spec (Authorization required on every API); seed (scenario 3: 401); http (RFC 9110 15.5.2)",
    ),
    _c(
        "A2",
        "auth",
        "MUST",
        "a 401 carries a Basic challenge",
        "Every 401 it sends carries WWW-Authenticate with the Basic scheme.",
        "http (RFC 9110 11.6.1 and 15.5.2: a 401 MUST send WWW-Authenticate); spec (Basic credentials)",
    ),
    _c(
        "X1",
        "xml",
        "MUST",
        "every answer is well-formed XML with an XML content type",
        "Every 200 answer is a well-formed XML document, with every text value escaped, labelled application/xml (or text/xml, +xml).",
        "spec (produces application/xml)",
    ),
    _c(
        "X2",
        "xml",
        "MUST",
        "every device answer is a valid attributes document",
        "Every device answer validates against attributes.xsd once the variations ISE tolerates are allowed for (a namespace, the case of element names, empty elements, MAC case, element order, unknown elements, no paging_info).",
        "spec (mdm-device-attributes-response: elements and types); field (the variations ISE tolerates)",
    ),
    _c(
        "X3",
        "xml",
        "MUST",
        "hostile query values get a clean answer",
        "A query value holding & < > \" ', non-ASCII text or thousands of characters is answered with a well-formed document or a 4xx - never a 5xx, a redirect, a broken document or no answer.",
        "spec (produces application/xml); ours (the OWASP injection checks)",
    ),
    _c(
        "B1",
        "timing",
        "MUST",
        "every answer arrives within the budget",
        "Every answer is complete within the budget (default 30 s: ISE's device compliance timeout in the seed).",
        "seed (MDM/UEM Device Compliance Timeout 30000 ms)",
    ),
    _c(
        "B2",
        "timing",
        "SHOULD",
        "a compliance lookup answers within 300 ms",
        "Lookups by MAC and GUID answer within 300 ms (the median of those asked).",
        "spec ('expectation is for compliance queries to respond within 200 ms; anything above 300 ms will have an impact')",
    ),
    _c(
        "C1",
        "timing",
        "MUST",
        "concurrent lookups are all answered correctly",
        "N lookups sent at once (ISE polls and authorizes in parallel) are each answered 200 with the device asked.",
        "spec ('delay in response will affect the system in scale/burst scenarios'); ours (N, --concurrency)",
    ),
    _c(
        "K1",
        "actions",
        "MUST",
        "an action on a named device gets a valid action answer",
        "POST {api_path}/action/actionType=T for a device it manages is answered 200 with a valid action document: the key echoing the identifier sent, result/action_status true or false.",
        "spec (mdm-action-response)",
    ),
)

#: Every server contract by id, in the order the report and the docs list them.
CONTRACTS: Mapping[str, ServerContract] = {c.id: c for c in _ALL}
