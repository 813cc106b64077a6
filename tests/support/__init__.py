"""Helpers for the harness's own tests (not fixtures: those are in the conftest.py files).

* :mod:`support.proxy` - a CA, a reference MDM and a real fault proxy (``Lab``), curl and raw sockets;
* :mod:`support.mdm` - a validating client of the reference MDM;
* :mod:`support.scripted` - a real HTTPS server whose every answer is scripted;
* :mod:`support.expect` - what a correct client reports for an inventory device;
* :mod:`support.inprocess` - small in-process clients for the runner tests.
"""
