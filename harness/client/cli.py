"""Subcommands of the client package: ``reference-client`` and ``test-connection``.

Only argparse is imported here; httpx, lxml and ruamel.yaml load inside the handlers, so
``mdm-harness --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

__all__ = ["add_reference_arguments", "register"]


def add_reference_arguments(parser: argparse.ArgumentParser) -> None:
    """Options and positionals of the reference client (shared by both of its entry points)."""
    parser.add_argument(
        "--policy",
        metavar="FILE",
        type=Path,
        default=None,
        help="policy YAML to run on (default: the shipped reference-policy.yaml)",
    )
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="do not print the trace of attempts and waits on stderr",
    )
    parser.add_argument(
        "operation",
        help="mdminfo | device --mac|--guid|--udid|--imei|--meid|--serial VALUE | noncompliant | "
        "action full_wipe|corporate_wipe|pin_lock --mac|--guid VALUE",
    )
    parser.add_argument(
        "args", nargs=argparse.REMAINDER, help="the operation's arguments (see OPERATION)"
    )


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``reference-client`` and ``test-connection``."""
    ref = subparsers.add_parser(
        "reference-client",
        help="run one operation of the ISE-like reference client (adapter protocol)",
        description=(
            "The ISE-like reference client, driven through the adapter protocol: it reads "
            "MDM_BASE_URL, MDM_USERNAME, MDM_PASSWORD, MDM_PROXY, MDM_CA_BUNDLE and "
            "MDM_TIMEOUT_MS (and no other variable) and prints one JSON object on stdout."
        ),
    )
    add_reference_arguments(ref)
    ref.set_defaults(func=_reference_client)

    tc = subparsers.add_parser(
        "test-connection",
        help="do what ISE's Test Connection button does, and explain failures",
        description=(
            "TLS + Basic auth + discovery + parse against an MDM, printing the fields ISE logs "
            "and, on failure, what to check. Exit codes: 0 connected, 2 bad usage, 3 timeout, "
            "4 connection_error, 5 tls_error, 6 unauthorized, 7 not_found, 8 server_error, "
            "9 parse_error, 10 protocol_error."
        ),
    )
    tc.add_argument(
        "url",
        metavar="URL",
        help="the MDM's https URL with the instance name, e.g. "
        "https://acme.jamfcloud.com/networkIntegrationEndpoint/7",
    )
    tc.add_argument("--username", required=True, help="the MDM API user")
    tc.add_argument(
        "--password",
        default=None,
        help="the user's password (default: the MDM_PASSWORD environment variable, which "
        "keeps it out of the process list)",
    )
    tc.add_argument(
        "--proxy",
        metavar="URL",
        default=None,
        help="an explicit http:// proxy to CONNECT through (default: none; proxy environment "
        "variables are ignored)",
    )
    tc.add_argument(
        "--ca",
        metavar="FILE",
        type=Path,
        default=None,
        help="PEM file of the only CA to trust (default: the system trust store; "
        "SSL_CERT_FILE and friends are ignored)",
    )
    tc.add_argument(
        "--timeout-ms",
        type=int,
        default=10_000,
        metavar="N",
        help="per-request timeout in milliseconds (default: 10000)",
    )
    tc.add_argument(
        "--json",
        action="store_true",
        help="print one JSON document instead of the text report (see docs/clients.md)",
    )
    tc.set_defaults(func=_test_connection)


def _reference_client(args: argparse.Namespace) -> int:
    from harness._util import check_regular_file
    from harness.client.reference import run_cli

    if args.policy is not None:
        check_regular_file(args.policy, "--policy")

    return run_cli(args)


def _test_connection(args: argparse.Namespace) -> int:
    from harness.client.protocol import OperationError
    from harness.client.testconnection import check_connection
    from harness.errors import UsageError

    if not args.url.lower().startswith("https://"):
        raise UsageError(
            f"URL {args.url!r} must start with https:// (credentials never go over http)"
        )
    from harness._util import check_range, check_regular_file

    if args.timeout_ms <= 0:
        raise UsageError(f"--timeout-ms={args.timeout_ms} must be positive")
    check_range(args.timeout_ms, "--timeout-ms", 1, 3_600_000)
    if args.ca is not None:
        if not args.ca.is_file():
            raise UsageError(f"--ca {str(args.ca)!r} is not a file")
        check_regular_file(args.ca, "--ca")
    password = args.password if args.password is not None else os.environ.get("MDM_PASSWORD")
    if password is None:
        raise UsageError("give --password or set MDM_PASSWORD")
    try:
        report = check_connection(
            args.url,
            args.username,
            password,
            proxy=args.proxy,
            ca=args.ca,
            timeout_ms=args.timeout_ms,
        )
    except OperationError as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        sys.stdout.write(json.dumps(report.to_json(), indent=2) + "\n")
    else:
        sys.stdout.write(report.render())
    return report.exit_code
