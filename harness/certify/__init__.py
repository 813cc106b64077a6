"""Certification: run the contract suite against a client and leave evidence.

* :mod:`harness.certify.runner` - ``mdm-harness certify``: validate, run pytest, report;
* :mod:`harness.certify.report` - the certification report (JUnit, Markdown, HTML, journal) and
  merging shard reports;
* :mod:`harness.certify.replay` - replay files for failing cases, and ``mdm-harness replay``;
* :mod:`harness.certify.timeline` - the picture (inline SVG) and text timeline of one case run;
* :mod:`harness.certify.diff` - ``mdm-harness report diff``: what changed between two reports.
"""

from harness.contracts.config import PROFILES

__all__ = ["DEFAULT_REPORT_DIR", "PROFILES"]

#: Where ``certify`` writes its report unless told otherwise.
DEFAULT_REPORT_DIR = "mdm-harness-report"
