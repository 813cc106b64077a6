"""The fault proxy's mitmproxy master: mitmdump's, with only the addons a fault proxy uses.

mitmdump runs every default addon of mitmproxy - playback, map local and remote, sticky cookies
and auth, HAR export, the onboarding app and more - and mitmproxy visits each of them on every
hook event. None of them acts on the harness's flows with their options at the defaults, yet on
the harness's short flows those visits are about a fifth of the proxy's CPU time (measured: a
whole contract-suite run, 7.5 s of CPU in mitmdump, 6.1 s here). The launcher therefore runs
mitmproxy's own :class:`~mitmproxy.master.Master` with the addons below, in mitmdump's order,
through mitmproxy's own ``run`` (options, ``--set``, signals and start-up error checks as in
mitmdump):

* ``core``, ``proxyserver``, ``next_layer`` and ``tlsconfig``: the proxy itself;
* ``block``, ``disable_h2c`` and ``update_alt_svc``: they act on flows by default (refuse
  clients from public addresses, drop ``Upgrade: h2c``, rewrite ``Alt-Svc`` in reverse mode), so
  the harness's proxy treats traffic as mitmdump does;
* ``script``: it loads ``addon.py`` (``-s``), the very file plain ``mitmdump -s`` loads;
* ``dumper`` (it logs each flow with ``--verbose``), ``termlog`` and ``errorcheck``.

An option of a left-out addon (``--set anticache=true``) is refused at start-up, as an unknown
option, rather than ignored (mitmproxy itself keeps an unknown option aside in case a script
registers it later). ``mitmdump -s "$(mdm-harness addon-path)"`` still runs the same
addons inside a full mitmdump.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import sys
from collections.abc import Sequence


def _without_the_default_addons_import() -> None:
    """Make ``mitmproxy.addons`` a bare package, its ``__init__`` not run.

    That file only imports every default addon, for ``default_addons()``, and with them flask,
    passlib and ldap3 for addons this master leaves out: about 0.35 s of CPU, a third of a
    start. The addons this master runs still load as the package's modules. Done only in the
    proxy's own process (``python -m harness.proxy.master``); importing this module elsewhere
    leaves mitmproxy as it is.
    """
    if "mitmproxy.addons" in sys.modules:
        return
    spec = importlib.util.find_spec("mitmproxy.addons")
    if spec is None or spec.submodule_search_locations is None:
        return
    package = importlib.util.module_from_spec(spec)
    sys.modules["mitmproxy.addons"] = package
    sys.modules["mitmproxy"].addons = package  # type: ignore[attr-defined]


if __name__ == "__main__":
    _without_the_default_addons_import()

from mitmproxy import master, options  # noqa: E402
from mitmproxy.addons import (  # noqa: E402
    block,
    core,
    disable_h2c,
    dumper,
    errorcheck,
    next_layer,
    proxyserver,
    script,
    tlsconfig,
    update_alt_svc,
)
from mitmproxy.tools import main as tools_main  # noqa: E402

__all__ = ["FaultProxyMaster", "main"]


class FaultProxyMaster(master.Master):
    """mitmproxy's master with the addons a fault proxy uses (see the module's text)."""

    def __init__(self, opts: options.Options) -> None:
        super().__init__(opts, with_termlog=True)
        self.addons.add(
            core.Core(),
            block.Block(),
            disable_h2c.DisableH2C(),
            proxyserver.Proxyserver(),
            script.ScriptLoader(),
            next_layer.NextLayer(),
            tlsconfig.TlsConfig(),
            update_alt_svc.UpdateAltSvc(),
            dumper.Dumper(),
            errorcheck.ErrorCheck(),
        )

    async def running(self) -> None:
        # The scripts are loaded by now, so an option still deferred belongs to no addon here:
        # refuse it (mitmproxy's error check then ends the start-up) rather than ignore it.
        if unknown := sorted(self.options.deferred):
            logging.error(
                f"unknown option{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)} "
                "(the fault proxy runs only the addons listed in harness.proxy.master)"
            )
            return
        await super().running()


def _parser(opts: options.Options) -> argparse.ArgumentParser:
    """mitmdump's command line, for the options this master has."""
    parser = argparse.ArgumentParser(prog="harness.proxy.master", usage="%(prog)s [options]")
    parser.add_argument("--version", action="store_true", help="show version number and exit")
    parser.add_argument("--options", action="store_true", help="show all options")
    parser.add_argument("--commands", action="store_true", help="show all commands")
    parser.add_argument(
        "--set", type=str, dest="setoptions", default=[], action="append",
        metavar="option[=value]", help="set an option (as mitmdump's --set)",
    )  # fmt: skip
    parser.add_argument("-q", "--quiet", action="store_true", help="quiet")
    parser.add_argument(
        "-v", "--verbose", action="store_const", const="debug", help="more log output"
    )
    opts.make_parser(parser, "mode", short="m")
    opts.make_parser(parser, "scripts", metavar="SCRIPT", short="s")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the fault proxy's master until SIGINT or SIGTERM (mitmdump's command line)."""
    tools_main.run(FaultProxyMaster, _parser, list(sys.argv[1:] if argv is None else argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
