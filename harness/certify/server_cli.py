"""``mdm-harness certify-server``: certify an MDM server the way ISE will use it."""

from __future__ import annotations

import argparse

from harness.servercheck.target import (
    ACTION_TYPES,
    DEFAULT_BUDGET_MS,
    DEFAULT_CONCURRENCY,
    DEFAULT_MAX_PAGES,
    DEFAULT_RATE,
    PROFILE_EXAMPLES,
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from .server import DEFAULT_REPORT_DIR

    p = subparsers.add_parser(
        "certify-server",
        help="certify an MDM server against the ISE MDM API the way ISE will use it",
        description=(
            "Certify an MDM server: run the server contracts (discovery D1-D4, lookups L1-L7, "
            "paging G1-G5, authentication A1-A2, XML X1-X3, timing B1-B2 and C1, actions K1) "
            "against URL through the harness's own pass-through proxy, which journals every "
            "exchange, and write junit.xml, certification.md/.html, journal.jsonl and a replay "
            "file per failure. Read-only unless --allow-actions; at most --rate requests per "
            "second; never more requests than the plan printed at the start. Exit 0: certified; "
            "1: a contract is broken; 2: bad input or an unreachable server."
        ),
    )
    p.add_argument(
        "url",
        nargs="?",
        metavar="URL",
        help="the server's base URL with the instance prefix, as ISE's MDM settings hold it "
        "(e.g. https://acme.jamfcloud.com/networkIntegrationEndpoint/7; default: $MDM_BASE_URL)",
    )
    p.add_argument("--username", help="Basic user (default: $MDM_USERNAME)")
    p.add_argument(
        "--password",
        help="Basic password (default: $MDM_PASSWORD; prefer the variable: options are visible to other local users)",
    )
    p.add_argument(
        "--ca",
        metavar="PEM",
        help="CA bundle that verifies the server's certificate (default: the system store; "
        "REQUESTS_CA_BUNDLE, SSL_CERT_FILE and the like are ignored)",
    )
    p.add_argument(
        "--proxy",
        metavar="URL",
        help="ISE's proxy, http://host:port (as ISE reaches the MDM; the harness's own proxy is chained in front)",
    )
    p.add_argument(
        "--device",
        action="append",
        default=[],
        metavar="SPEC",
        help="a device the server manages, to query: mac=HEX12[,guid=G][,username=U][,hostname=H]"
        "[,udid=..][,imei=..][,meid=..] (repeatable; default: the first devices of the non-compliant "
        "listing, then of the all-devices listing - username and hostname lookups need a --device)",
    )
    p.add_argument(
        "--allow-actions",
        action="store_true",
        help="send actions (K1) - only to the --action-device devices; without it only GET is sent",
    )
    p.add_argument(
        "--action-device",
        action="append",
        default=[],
        metavar="SPEC",
        help="a device an action may touch: mac=HEX12 or guid=G (repeatable; needs --allow-actions)",
    )
    p.add_argument(
        "--action",
        choices=ACTION_TYPES,
        default="pin_lock",
        help="the action sent to each --action-device (default: %(default)s)",
    )
    p.add_argument(
        "--rate",
        type=float,
        default=DEFAULT_RATE,
        metavar="R",
        help="requests per second across the whole run, every worker together (default: %(default)s; 0: no cap)",
    )
    p.add_argument(
        "--budget-ms",
        type=int,
        default=DEFAULT_BUDGET_MS,
        metavar="MS",
        help="every answer's time budget, B1 (default: %(default)s, ISE's compliance timeout in the seed)",
    )
    p.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        metavar="N",
        help="lookups sent at once for C1 (default: %(default)s)",
    )
    p.add_argument(
        "--max-pages",
        type=int,
        default=DEFAULT_MAX_PAGES,
        metavar="N",
        help="the most pages the walk of the non-compliant listing takes (default: %(default)s)",
    )
    p.add_argument(
        "--max-requests",
        type=int,
        metavar="N",
        help="refuse to start when the plan needs more than N requests (default: no cap beyond the plan)",
    )
    p.add_argument(
        "--profile",
        choices=tuple(PROFILE_EXAMPLES),
        default="standard",
        help="hostile query values drawn for X3: quick 4, standard 10 (the default), thorough 50",
    )
    p.add_argument(
        "-n",
        dest="workers",
        default="1",
        metavar="auto|N",
        help="parallel workers (default: 1 - the rate cap, not the CPU, bounds a server run; workers "
        "share --rate and the plan, and each adds its own proxy and survey)",
    )
    p.add_argument(
        "-k",
        dest="keyword",
        metavar="EXPR",
        help="run only the server tests matching EXPR (pytest -k syntax, e.g. 'l2 or g1')",
    )
    p.add_argument(
        "--seed",
        type=int,
        metavar="S",
        help="seed of every random draw: hostile values, unknown devices (default: drawn and printed)",
    )
    p.add_argument(
        "--report",
        metavar="DIR",
        default=DEFAULT_REPORT_DIR,
        help=f"report directory (default: ./{DEFAULT_REPORT_DIR})",
    )
    p.add_argument(
        "--replay",
        metavar="FILE",
        help="run the one case of a replay file (failures/*.yaml) again and print its verdict "
        "(URL, --username, --ca and --proxy override the file's)",
    )
    p.set_defaults(func=_certify_server)


def _certify_server(args: argparse.Namespace) -> int:
    from .server import certify_server

    return certify_server(args)
