"""``mdm-harness serve`` (run the reference MDM) and ``mdm-harness mdm ...`` (talk to one).

``serve`` is here; the ``mdm`` admin subcommands are :mod:`harness.mdm.admin_cli`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from harness._util import default_state_dir, is_loopback_host
from harness.mdm.profile import PROFILE_NAMES

#: The most devices ``serve --devices`` generates (100 000 take about 7 s on a 2-core machine).
MAX_DEVICES = 1_000_000


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``serve`` and ``mdm`` to the top-level parser."""
    from harness.mdm import admin_cli

    _register_serve(subparsers)
    admin_cli.register(subparsers)


# -- serve --------------------------------------------------------------------------------------


def _register_serve(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "serve",
        help="run the reference MDM (ISE MDM API v1-v3, Jamf-shaped) until SIGINT/SIGTERM",
        description=(
            "Run the reference MDM over HTTPS on loopback. Prints the base URL, the public URL a "
            "client uses through the fault proxy, the CA bundle and the credentials, then serves "
            "until interrupted (SIGINT or SIGTERM), exiting 0."
        ),
    )
    p.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="directory of the harness CA, created once and reused (default: %(default)s, i.e. "
        "$MDM_HARNESS_STATE_DIR or ~/.local/state/mdm-harness)",
    )
    p.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    p.add_argument(
        "--port", type=int, default=0, help="port to listen on; 0 picks a free one (default)"
    )
    p.add_argument(
        "--allow-non-loopback",
        action="store_true",
        help="allow --host to be a non-loopback address (the harness only ever targets loopback)",
    )
    source = p.add_mutually_exclusive_group()
    source.add_argument(
        "--devices",
        type=int,
        default=1000,
        metavar="N",
        help=f"generate N realistic devices, at most {MAX_DEVICES} (default: %(default)s)",
    )
    source.add_argument(
        "--inventory",
        type=Path,
        metavar="FILE",
        help="load devices from a YAML or JSON inventory file instead of generating them",
    )
    p.add_argument(
        "--seed", type=int, default=7, help="seed of the generated inventory (default: %(default)s)"
    )
    p.add_argument(
        "--profile",
        choices=PROFILE_NAMES,
        default="jamf",
        help="server profile: jamf (Jamf Pro 10.48.1, instance prefix) or generic (default: %(default)s)",
    )
    p.add_argument(
        "--instance-id",
        metavar="ID",
        help="instance ID in /networkIntegrationEndpoint/ID (jamf: 7)",
    )
    p.add_argument(
        "--max-api-version",
        type=int,
        choices=(1, 2, 3),
        help="highest API version served (default: 3)",
    )
    p.add_argument(
        "--query-max-size",
        type=int,
        metavar="N",
        help="devices per page (jamf: 1000, generic: 5000)",
    )
    p.add_argument(
        "--api-path",
        metavar="TEMPLATE",
        help="api_path template; placeholders {instance_id}, {instance}, {version}, "
        "{public_hostname} (jamf: /{instance_id}/ciscoise/v{version})",
    )
    p.add_argument(
        "--public-hostname",
        metavar="HOST",
        help="the public-looking host clients dial through the proxy (jamf: acme.jamfcloud.test)",
    )
    p.add_argument(
        "--messaging-support",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="announce and serve sendmessage (jamf: off, generic: on)",
    )
    p.add_argument(
        "--server-busy-wait-seconds",
        type=int,
        metavar="N",
        help="server_busy_wait_seconds in v3 attribute replies (default: 0)",
    )
    p.add_argument("--username", help="Basic username (default: ise-harness)")
    p.add_argument(
        "--password",
        help="Basic password (default: random per run, printed at start-up; beware that options "
        "are visible to other local users)",
    )
    p.add_argument(
        "--basic-auth-disabled",
        action="store_true",
        help="reproduce Jamf's 'Basic authentication disabled': every API request gets 401",
    )
    p.add_argument(
        "--plain-http", action="store_true", help="serve plain HTTP instead of HTTPS (no TLS)"
    )
    p.add_argument(
        "--defect",
        action="append",
        default=[],
        metavar="NAME[=MS]",
        help="switch on a deliberate defect of the server zoo (repeatable; e.g. unknown-device-404, "
        "slow=150; docs/mdm.md lists them): to see certify-server fail",
    )
    p.add_argument(
        "--max-body-bytes",
        type=int,
        default=None,
        metavar="N",
        help="request bodies above N bytes get 413 (default: 1048576)",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="print the start-up facts as one JSON object on one line instead of text",
    )
    p.add_argument(
        "--log-level",
        choices=("debug", "info", "warning", "error"),
        default="info",
        help="log level of the server's log on stderr (default: %(default)s)",
    )
    p.set_defaults(func=_serve)


def _check_serve_arguments(args: argparse.Namespace) -> None:
    """Every value ``serve`` takes, checked before anything starts (one line, exit 2)."""
    from harness._util import (
        check_hostname,
        check_port,
        check_range,
        check_regular_file,
        check_writable_dir,
    )
    from harness.errors import UsageError

    if not args.allow_non_loopback and not is_loopback_host(args.host):
        raise UsageError(f"--host {args.host} is not a loopback address (add --allow-non-loopback)")
    check_port(args.port, "--port")
    if args.devices is not None:
        if args.devices < 0:
            raise UsageError("--devices must not be negative")
        check_range(args.devices, "--devices", 0, MAX_DEVICES)
    if args.inventory is not None:
        check_regular_file(args.inventory, "--inventory", max_bytes=256 << 20)
    if args.public_hostname is not None:
        check_hostname(args.public_hostname, "--public-hostname")
    if args.instance_id is not None and not re.fullmatch(
        r"[A-Za-z0-9._~-]{1,64}", args.instance_id
    ):
        raise UsageError(
            f"--instance-id {args.instance_id!r}: letters, digits and . _ ~ - only (1-64 characters)"
        )
    if args.query_max_size is not None and args.query_max_size > 100_000:
        check_range(args.query_max_size, "--query-max-size", 1, 100_000)
    if args.server_busy_wait_seconds is not None:
        check_range(args.server_busy_wait_seconds, "--server-busy-wait-seconds", 0, 86_400)
    if args.max_body_bytes is not None:
        check_range(args.max_body_bytes, "--max-body-bytes", 1, 1 << 30)
    check_range(args.seed, "--seed", 0, 2**64 - 1)
    check_writable_dir(
        args.state_dir if args.state_dir is not None else default_state_dir(), "--state-dir"
    )


def _serve(args: argparse.Namespace) -> int:
    from harness.errors import UsageError
    from harness.mdm.inventory import InventoryError
    from harness.mdm.server import ReferenceMDM

    _check_serve_arguments(args)
    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    overrides: dict[str, Any] = {
        name: value
        for name, value in (
            ("instance_id", args.instance_id),
            ("max_api_version", args.max_api_version),
            ("query_max_size", args.query_max_size),
            ("api_path", args.api_path),
            ("public_hostname", args.public_hostname),
            ("messaging_support", args.messaging_support),
            ("server_busy_wait_seconds", args.server_busy_wait_seconds),
        )
        if value is not None
    }
    extra: dict[str, Any] = {}
    if args.defect:
        extra["defects"] = args.defect
    if args.max_body_bytes is not None:
        extra["max_body_bytes"] = args.max_body_bytes
    try:
        mdm = ReferenceMDM(
            state_dir=args.state_dir if args.state_dir is not None else default_state_dir(),
            devices=args.devices or 0,
            seed=args.seed,
            inventory=args.inventory,
            profile=args.profile,
            basic_auth_enabled=not args.basic_auth_disabled,
            username=args.username,
            password=args.password,
            plain_http=args.plain_http,
            host=args.host,
            port=args.port,
            allow_non_loopback=args.allow_non_loopback,
            **extra,
            **overrides,
        )
    except InventoryError as exc:
        raise UsageError(str(exc)) from None
    except (ValueError, TypeError) as exc:
        raise UsageError(str(exc)) from None

    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            mdm.start()
        except OSError as exc:
            raise UsageError(
                f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}"
            ) from None
        _print_facts(mdm, args)
        while not stop.wait(1.0):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        mdm.stop()
    from harness.mdm.server import MDMServerError

    try:
        mdm.check()
    except MDMServerError as exc:
        print(f"mdm-harness serve: {exc}", file=sys.stderr)
        return 1
    print("mdm-harness serve: stopped", file=sys.stderr)
    return 0


def _print_facts(mdm: Any, args: argparse.Namespace) -> None:
    facts = {
        "base_url": mdm.base_url,
        "origin": mdm.origin,
        "public_base_url": mdm.public_base_url,
        "discovery_url": f"{mdm.base_url}/ciscoise/mdminfo/?ise_api_version={mdm.profile.max_api_version}",
        "ca_bundle": str(mdm.ca_bundle) if mdm.ca_bundle else None,
        "username": mdm.username,
        "password": mdm.password,
        "profile": mdm.profile.name,
        "devices": len(mdm.inventory),
        "basic_auth_enabled": mdm.basic_auth_enabled,
        "defects": mdm.defects.specs(),
        "pid": os.getpid(),
    }
    if args.json:
        print(json.dumps(facts), flush=True)
        return
    source = f"inventory {args.inventory}" if args.inventory else f"seed {args.seed}"
    lines = [
        f"reference MDM: profile {mdm.profile.name}, {facts['devices']} devices ({source}), pid {facts['pid']}",
        f"  base URL:   {facts['base_url']}",
        f"  public URL: {facts['public_base_url']}  (through the fault proxy; never resolved by DNS)",
        f"  discovery:  {facts['discovery_url']}",
        f"  CA bundle:  {facts['ca_bundle'] or '(plain HTTP)'}",
        f"  username:   {facts['username']}",
        f"  password:   {facts['password']}",
    ]
    if not mdm.basic_auth_enabled:
        lines.append("  Basic authentication is DISABLED: every API request gets 401")
    if mdm.defects:
        lines.append(f"  DEFECTS switched on (the server zoo): {', '.join(mdm.defects.specs())}")
    lines.append("Stop with Ctrl-C or SIGTERM.")
    print("\n".join(lines), flush=True)
