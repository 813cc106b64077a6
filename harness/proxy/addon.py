"""The fault-injection addons for ``mitmdump -s <this file>`` (``mdm-harness addon-path``).

mitmproxy loads this file as a script, outside the package, so it only lists the addons; they
live in ``harness.proxy`` (see :mod:`harness.proxy.chain` and ``docs/proxy.md``)::

    mitmdump -s "$(mdm-harness addon-path)" --set confdir=STATE/mitmproxy \\
        --set harness_upstream=https://127.0.0.1:8443 --set harness_scenario=seed-1-connection-timeout
"""

from harness.proxy.chain import make_addons

addons = make_addons()
