"""The harness's addons, in the one order mitmproxy runs them (``addon.py`` lists them for
``mitmdump -s``); each has one job, in the manner of mitmproxy's own addons:

=================================  ======================================================
:class:`MitmproxySettings`         keep the mitmproxy settings the harness relies on
                                   (loopback, no raw TCP, HTTP/1.1, lazy connections)
:class:`Credentials`               take the control token and the HMAC key without argv
:class:`Recorder`                  the journal: open, fill in and finish every record
:class:`Injector`                  decide faults from the scenario and apply them
:class:`Routing`                   send what is still live to the upstream, nowhere else
:class:`Control`                   the control API, the canary, the ready file
=================================  ======================================================

Order matters where two addons act in one hook: the recorder opens a record (and notes the
host, the ClientHello) before the injector decides on it; the injector acts on a request before
routing forwards what is left; and a fault acting on a response runs in the injector's
``response`` hook after the recorder's, which leaves such a record to it.
"""

from __future__ import annotations

from harness.proxy.control import Control
from harness.proxy.credentials import Credentials
from harness.proxy.inject import Injector
from harness.proxy.recorder import Recorder
from harness.proxy.routing import Routing
from harness.proxy.settings import MitmproxySettings

__all__ = ["make_addons"]


def make_addons() -> list[object]:
    """A fresh set of the harness's addons, in order."""
    credentials = Credentials()
    recorder = Recorder(credentials)
    injector = Injector(recorder)
    routing = Routing()
    control = Control(credentials, recorder, injector, routing)
    return [MitmproxySettings(), credentials, recorder, injector, routing, control]
