"""``mdm-harness mdm ...``: talk to a running reference MDM through its admin surface.

The commands use the admin surface (``/_harness/``) of a server started by ``serve``
(:mod:`harness.mdm.cli`); they read ``--url``, ``--username``, ``--password`` and
``--ca-bundle`` from the options or from the adapter variables ``MDM_BASE_URL``,
``MDM_USERNAME``, ``MDM_PASSWORD`` and ``MDM_CA_BUNDLE``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    conn = argparse.ArgumentParser(add_help=False)
    conn.add_argument(
        "--url",
        default=os.environ.get("MDM_BASE_URL"),
        help="URL of the running server as 'serve' printed it (default: $MDM_BASE_URL)",
    )
    conn.add_argument(
        "--username",
        default=os.environ.get("MDM_USERNAME"),
        help="Basic username (default: $MDM_USERNAME)",
    )
    conn.add_argument(
        "--password",
        default=os.environ.get("MDM_PASSWORD"),
        help="Basic password (default: $MDM_PASSWORD)",
    )
    conn.add_argument(
        "--ca-bundle",
        type=Path,
        default=Path(os.environ["MDM_CA_BUNDLE"]) if os.environ.get("MDM_CA_BUNDLE") else None,
        help="CA PEM the server printed (default: $MDM_CA_BUNDLE); ambient CA variables are ignored",
    )
    conn.add_argument("--json", action="store_true", help="print the answer as JSON")

    group = subparsers.add_parser(
        "mdm",
        help="change or read a running reference MDM (compliance, actions, settings)",
        description="Talk to the admin surface (/_harness/) of a server started by 'mdm-harness serve'.",
    )
    sub = group.add_subparsers(
        dest="mdm_command",
        metavar="SUBCOMMAND",
        required=True,
        help="what to do (see SUBCOMMAND --help)",
    )

    status = sub.add_parser(
        "status", parents=[conn], help="health, inventory counts, requests, memory"
    )
    status.set_defaults(func=_status)

    comp = sub.add_parser(
        "set-compliance",
        parents=[conn],
        help="make a device compliant or non-compliant while the server runs",
    )
    comp.add_argument(
        "--device",
        required=True,
        metavar="KEY",
        help="the device: GUID, any of its MACs (any format), host name, UDID, serial, IMEI or MEID",
    )
    which = comp.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--compliant", dest="compliant", action="store_true", help="mark it compliant"
    )
    which.add_argument(
        "--non-compliant", dest="compliant", action="store_false", help="mark it non-compliant"
    )
    comp.add_argument("--reason", help="failure_reason of a non-compliant device")
    comp.add_argument("--remediation", help="remediation text of a non-compliant device")
    comp.set_defaults(func=_set_compliance)

    acts = sub.add_parser(
        "actions", parents=[conn], help="list executed actions (wipes, locks, messages)"
    )
    acts.add_argument("--device", metavar="KEY", help="only the actions on this device")
    acts.set_defaults(func=_actions)

    sett = sub.add_parser(
        "settings",
        parents=[conn],
        help="switch Basic authentication, set server_busy_wait_seconds or the zoo's defects",
    )
    sett.add_argument(
        "--basic-auth",
        choices=("enabled", "disabled"),
        help="disabled reproduces Jamf's 'Basic authentication disabled' (401 for every API request)",
    )
    sett.add_argument(
        "--busy-wait-seconds", type=int, metavar="N", help="server_busy_wait_seconds for v3 replies"
    )
    sett.add_argument(
        "--defect",
        action="append",
        default=None,
        metavar="NAME[=MS]",
        help="the deliberate defects to switch on (repeatable; replaces the current set)",
    )
    sett.add_argument(
        "--no-defects", action="store_true", help="switch every deliberate defect off"
    )
    sett.set_defaults(func=_settings)


def _client(args: argparse.Namespace) -> Any:
    from harness.errors import UsageError
    from harness.mdm.admin import AdminClient

    missing = [
        f"--{name.replace('_', '-')}"
        for name in ("url", "username", "password")
        if not getattr(args, name)
    ]
    if missing:
        raise UsageError(
            f"{', '.join(missing)} required (or MDM_BASE_URL, MDM_USERNAME, MDM_PASSWORD)"
        )
    try:
        return AdminClient(args.url, args.username, args.password, ca_bundle=args.ca_bundle)
    except (ValueError, OSError) as exc:  # ssl.SSLError is an OSError
        raise UsageError(str(exc)) from None


def _admin_call(args: argparse.Namespace, call: Any) -> Any:
    from harness.mdm.admin import AdminError

    try:
        return call(_client(args))
    except AdminError as exc:
        print(f"mdm-harness mdm {args.mdm_command}: {exc}", file=sys.stderr)
        return None


def _status(args: argparse.Namespace) -> int:
    result = _admin_call(args, lambda c: {"health": c.health(), "stats": c.stats()})
    if result is None:
        return 1
    if args.json:
        print(json.dumps(result, sort_keys=True))
        return 0
    health, stats = result["health"], result["stats"]
    peak = stats.get("peak_rss_bytes")
    print(
        f"{health['status']}: profile {health['profile']}, API v{health['api_versions'][-1]}, "
        f"up {health['uptime_seconds']:.0f} s, {health['base_url']}"
    )
    print(
        f"devices {stats['devices']} ({stats['noncompliant']} non-compliant), "
        f"requests {stats['requests']}, actions {stats['actions']}, errors {stats['errors']}, "
        f"Basic auth {'enabled' if stats['basic_auth_enabled'] else 'DISABLED'}"
        + (f", peak RSS {peak / 2**20:.0f} MiB" if peak else "")
    )
    return 0


def _set_compliance(args: argparse.Namespace) -> int:
    device = _admin_call(
        args, lambda c: c.set_compliance(args.device, args.compliant, args.reason, args.remediation)
    )
    if device is None:
        return 1
    if args.json:
        print(json.dumps(device, sort_keys=True))
    else:
        state = (
            "compliant" if device["compliant"] else f"non-compliant ({device['failure_reason']})"
        )
        print(f"device {device['guid']} (MAC {device['macaddress']}) is now {state}")
    return 0


def _actions(args: argparse.Namespace) -> int:
    records = _admin_call(args, lambda c: c.actions(args.device))
    if records is None:
        return 1
    if args.json:
        print(json.dumps(records, sort_keys=True))
        return 0
    if not records:
        print("no actions")
    for r in records:
        print(
            f"{r['time_ms']}  {r['action']:<15} {r['identifier']}={r['key']}  "
            f"device {r['guid']} (MAC {r['macaddress']}), API v{r['api_version']}"
            + (f": {r['message']}" if r.get("message") else "")
        )
    return 0


def _settings(args: argparse.Namespace) -> int:
    changes: dict[str, Any] = {}
    if args.basic_auth is not None:
        changes["basic_auth_enabled"] = args.basic_auth == "enabled"
    if args.busy_wait_seconds is not None:
        changes["server_busy_wait_seconds"] = args.busy_wait_seconds
    if args.no_defects:
        changes["defects"] = []
    elif args.defect is not None:
        changes["defects"] = args.defect
    result = _admin_call(args, lambda c: c.settings(**changes))
    if result is None:
        return 1
    if args.json:
        print(json.dumps(result, sort_keys=True))
    else:
        print(
            f"Basic auth {'enabled' if result['basic_auth_enabled'] else 'disabled'}, "
            f"server_busy_wait_seconds {result['server_busy_wait_seconds']}, "
            f"defects {', '.join(result['defects']) or 'none'}"
        )
    return 0
