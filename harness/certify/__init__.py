"""Certification: run the contract suite against a client and leave evidence.

* :mod:`harness.certify.runner` - ``mdm-harness certify``: validate, run pytest, report;
* :mod:`harness.certify.results` - what a run left (JUnit, verdict records, meta) read into a
  ``Report``: statuses, failures, advice, the verdict;
* :mod:`harness.certify.render` - the one renderer of both reports' Markdown and HTML (status
  glyphs, contract table, failure and advice blocks) and their shared files;
* :mod:`harness.certify.report` - the client's certification report (its rows and failure
  details, the files it writes) and merging shard reports;
* :mod:`harness.certify.server_report` - the MDM server's report, on the same renderer;
* :mod:`harness.certify.replay` - replay files for failing cases, and ``mdm-harness replay``;
* :mod:`harness.certify.timeline` - the picture (inline SVG) and text timeline of one case run;
* :mod:`harness.certify.diff` - ``mdm-harness report diff``: what changed between two reports.
"""

from harness.contracts.config import PROFILES

__all__ = ["DEFAULT_REPORT_DIR", "PROFILES"]

#: Where ``certify`` writes its report unless told otherwise.
DEFAULT_REPORT_DIR = "mdm-harness-report"
