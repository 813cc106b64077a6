"""Every benchmark of the harness, in one package at the top layer (beside the CLI).

One load generator (:mod:`harness.bench.loadgen`: JSON-lines jobs in, JSON results out, times
in nanoseconds) drives every latency figure; one module per bench measures one thing and
returns a flat dict of documented figures:

==============  ===============================================================================
module          what it measures (``mdm-harness bench <name>``)
==============  ===============================================================================
``mdm``         the reference MDM: lookups, pages, a static-file baseline, start-up, memory
``proxy``       the fault proxy: addon cost, rule matching, delay and trickle fidelity, memory
``client``      the reference client's cost per run (exec and in-process)
``certify``     ``certify -n 1`` and ``-n 2`` wall times (a section of the whole run only)
``server``      ``certify-server`` against the reference MDM, capped and uncapped
``peers``       nginx and WireMock doing the same work (sections of the whole run)
``soak``        concurrent CONNECT+TLS lookups x mixed faults x rounds: nothing lost, no leak
==============  ===============================================================================

:mod:`harness.bench.suite` runs the sections of ``mdm-harness bench`` in order and
:mod:`harness.bench.report` turns their figures into one table; :mod:`harness.bench.cli` wires
the commands. Figures are printed, never asserted by timed tests (``docs/performance.md``).
"""
