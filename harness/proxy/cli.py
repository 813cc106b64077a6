"""``mdm-harness addon-path``, ``mdm-harness proxy`` and ``mdm-harness scenarios lint|list|show``.

``proxy`` runs the fault proxy (mitmproxy with the harness addons) in the foreground until
interrupted. Without ``--upstream`` it first starts a reference MDM of its own (in this
process) and proxies to it, so one command gives a complete lab: the printed proxy URL, CA
bundle and credentials are all a client needs.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from harness._util import default_state_dir


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``addon-path``, ``proxy`` and ``scenarios`` to the top-level parser."""
    p = subparsers.add_parser(
        "addon-path",
        help="print the path of the mitmproxy addon (for mitmdump -s)",
        description="Print the path of the harness addon file, for `mitmdump -s PATH`.",
    )
    p.set_defaults(func=_addon_path)

    p = subparsers.add_parser(
        "proxy",
        help="run the fault proxy (mitmproxy with the harness addons) in the foreground",
        description=(
            "Run the fault-injecting proxy until interrupted. Prints the proxy URL, the control "
            "API URL and the CA bundle. Without --upstream, a reference MDM is started first "
            "and its URL and credentials are printed too."
        ),
    )
    p.add_argument(
        "--scenario",
        metavar="FILE|NAME",
        default=None,
        help="scenario to load at start: a YAML file or a library name (see `scenarios list`); "
        "default: none (every attempt passes; load one later through the control API)",
    )
    p.add_argument(
        "--listen-port",
        type=int,
        default=3128,
        metavar="PORT",
        help="port the proxy listens on, on 127.0.0.1; 0 picks a free one (default: %(default)s)",
    )
    p.add_argument(
        "--upstream",
        metavar="URL",
        default=None,
        help="origin every request is sent to, e.g. https://127.0.0.1:8443 "
        "(default: start a reference MDM and use it)",
    )
    p.add_argument(
        "--upstream-ca",
        type=Path,
        metavar="PEM",
        default=None,
        help="CA bundle that verifies the upstream's certificate (default: the harness CA)",
    )
    p.add_argument(
        "--mode",
        choices=("regular", "reverse"),
        default="regular",
        help="regular: an explicit proxy (CONNECT), as ISE uses one; reverse: clients connect "
        "to the proxy as if it were the MDM (default: %(default)s)",
    )
    p.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="directory of the harness CA (default: $MDM_HARNESS_STATE_DIR or "
        "~/.local/state/mdm-harness)",
    )
    p.add_argument(
        "--control-port",
        type=int,
        default=0,
        metavar="PORT",
        help="port of the control API on 127.0.0.1; 0 picks a free one (default)",
    )
    p.add_argument(
        "--journal-max",
        type=int,
        default=10_000,
        metavar="N",
        help="journal retention cap in records (default: %(default)s)",
    )
    p.add_argument(
        "--journal-file",
        type=Path,
        metavar="FILE",
        default=None,
        help="also append every finished journal record to FILE (JSON lines, mode 0600), "
        "written as it finishes, so a killed proxy loses none (default: memory only)",
    )
    p.add_argument(
        "--max-hang",
        type=int,
        default=300,
        metavar="SECONDS",
        help="longest any hang lasts before the proxy closes it (default: %(default)s)",
    )
    p.add_argument(
        "--seed", type=int, default=0, help="seed for scenarios that give none (default: 0)"
    )
    p.add_argument(
        "--verbose", action="store_true", help="let the proxy log every flow (to its log file)"
    )
    p.set_defaults(func=_proxy)

    p = subparsers.add_parser(
        "scenarios",
        help="check and list scenario files",
        description="Validate scenario files, or list and show the scenario library.",
    )
    sub = p.add_subparsers(dest="scenarios_command", metavar="COMMAND", required=True)
    lint = sub.add_parser(
        "lint",
        help="validate scenario files (exit 1 on any error)",
        description="Validate scenario files and directories of them. Every error is printed as "
        "FILE:LINE: FIELD: PROBLEM; the exit code is 1 if there was any.",
    )
    lint.add_argument(
        "paths", nargs="+", type=Path, metavar="PATH", help="scenario files or directories"
    )
    lint.set_defaults(func=_lint)
    listing = sub.add_parser(
        "list",
        help="list the scenario library",
        description="List the library's scenarios with the real failure each models.",
    )
    listing.set_defaults(func=_list)
    show = sub.add_parser(
        "show", help="print a library scenario's YAML", description="Print a library scenario file."
    )
    show.add_argument("name", help="library scenario name")
    show.set_defaults(func=_show)


def _addon_path(args: argparse.Namespace) -> int:
    from harness.proxy.launcher import ADDON_PATH

    print(ADDON_PATH)
    return 0


def _lint(args: argparse.Namespace) -> int:
    from harness.scenario import ScenarioError, lint

    missing = [p for p in args.paths if not p.exists()]
    good, errors = lint(p for p in args.paths if p.exists())
    for path in missing:
        errors.append(ScenarioError(str(path), None, "(file)", "no such file or directory"))
    for error in errors:
        print(error, file=sys.stderr)
    print(f"{len(good)} scenario(s) ok, {len(errors)} error(s)")
    return 1 if errors else 0


def _list(args: argparse.Namespace) -> int:
    from harness.scenario import library_names, library_summary

    names = library_names()
    width = max((len(n) for n in names), default=0)
    for name in names:
        print(f"{name:<{width}}  {library_summary(name)}")
    return 0


def _show(args: argparse.Namespace) -> int:
    from harness.errors import UsageError
    from harness.scenario import ScenarioError, library_text

    try:
        sys.stdout.write(library_text(args.name))
    except ScenarioError as exc:
        raise UsageError(str(exc)) from None
    return 0


def _proxy(args: argparse.Namespace) -> int:
    from harness._util import check_port, check_range, check_regular_file, check_writable_dir
    from harness.errors import UsageError
    from harness.proxy.launcher import FaultProxy, ProxyStartError
    from harness.proxy.routing import Upstream
    from harness.scenario import ScenarioError, load_scenario
    from harness.tls import CertificateAuthority

    if args.scenario is not None:
        try:
            load_scenario(args.scenario)
        except ScenarioError as exc:
            raise UsageError(str(exc)) from None
    if args.upstream is not None:
        try:
            Upstream.parse(args.upstream)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    if args.upstream_ca is not None:
        check_regular_file(args.upstream_ca, "--upstream-ca")
    check_port(args.listen_port, "--listen-port")
    check_port(args.control_port, "--control-port")
    check_range(args.journal_max, "--journal-max", 1, 10_000_000)
    check_range(args.max_hang, "--max-hang", 1, 86_400)
    check_range(args.seed, "--seed", 0, 2**64 - 1)
    if args.journal_file is not None and not args.journal_file.parent.is_dir():
        raise UsageError(f"--journal-file: no such directory: {args.journal_file.parent}")

    state_dir = args.state_dir if args.state_dir is not None else default_state_dir()
    check_writable_dir(state_dir, "--state-dir")
    ca = CertificateAuthority.load_or_create(state_dir)
    mdm: Any = None
    upstream = args.upstream
    if upstream is None:
        from harness.mdm import ReferenceMDM

        mdm = ReferenceMDM(ca=ca).start()
        upstream = mdm.origin
    proxy = FaultProxy(
        upstream,
        ca,
        mode=args.mode,
        scenario=args.scenario,
        listen_port=args.listen_port,
        control_port=args.control_port,
        upstream_ca=args.upstream_ca,
        state_dir=state_dir / "proxy",
        journal_max=args.journal_max,
        journal_file=args.journal_file,
        seed=args.seed,
        max_hang_s=args.max_hang,
        quiet=not args.verbose,
    )
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        try:
            proxy.start()
        except ProxyStartError as exc:
            print(f"mdm-harness proxy: {exc}", file=sys.stderr)
            return 1
        _print_lab(proxy, mdm)
        assert proxy.process is not None
        while not stop.is_set() and proxy.process.poll() is None:
            stop.wait(0.5)
        code = proxy.process.poll()
        if code is not None:
            print(
                f"mdm-harness proxy: mitmdump exited with {code}:\n{proxy.output()[-4000:]}",
                file=sys.stderr,
            )
            return 1
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
        proxy.stop()
        if mdm is not None:
            mdm.stop()


def _print_lab(proxy: Any, mdm: Any) -> None:
    lines = [
        f"proxy ({proxy.mode}): {proxy.url if proxy.mode == 'regular' else proxy.reverse_url}",
        f"control API:   {proxy.control_url}  (Authorization: Bearer {proxy.control.token})",
        f"CA bundle:     {proxy.ca_bundle}",
        f"upstream:      {proxy.upstream}",
    ]
    if mdm is not None:
        lines += [
            f"MDM base URL:  {mdm.public_base_url}  (via the proxy; directly: {mdm.base_url})",
            f"credentials:   {mdm.username} / {mdm.password}",
        ]
    scenario = proxy.control.health().get("scenario")
    lines.append(f"scenario:      {scenario or '(none)'}")
    lines.append("Ctrl-C stops.")
    print("\n".join(lines), flush=True)
