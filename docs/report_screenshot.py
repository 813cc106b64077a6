"""Regenerate ``docs/report-failure.png``: a failing case of a real certification report.

Certifies the zoo client that ignores its backoff (``tests/zoo``) on one T4 case, cuts the
first failure or advice (T4 is a SHOULD contract: its failure is advice) - with the report's
banner and its own styles - out of ``certification.html`` and has headless Chromium take its
picture. Run from a checkout, with mdm-harness installed and
``chromium`` on PATH (Debian: ``apt-get install chromium``)::

    python docs/report_screenshot.py            # writes docs/report-failure.png
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ZOO = ROOT / "tests" / "zoo"
OUT = ROOT / "docs" / "report-failure.png"


def main() -> int:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        print("report_screenshot: no chromium on PATH", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="mdm-harness-shot-") as tmp:
        work = Path(tmp)
        env = dict(
            os.environ, PYTHONPATH=os.pathsep.join([str(ZOO), os.environ.get("PYTHONPATH", "")])
        )
        subprocess.run(
            [sys.executable, "-P", "-m", "harness", "certify",
             "--client", "zoo_clients:ignores_backoff", "--policy", str(ZOO / "zoo-policy.yaml"),
             "--client-version", "2.3.1", "-n", "1", "-k", "t4 and retries_wait", "--seed", "11",
             "--report", str(work / "report")],
            cwd=work, env=env, check=False, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        page = (work / "report" / "certification.html").read_text(encoding="utf-8")
        style = re.search(r"<style>.*?</style>", page, re.S)
        banner = re.search(r"<p class='verdict.*?</p>", page, re.S)
        failure = re.search(r"<section class='failure( advice)?'>.*?</section>", page, re.S)
        if not (style and banner and failure):
            print("report_screenshot: the report has no failure to show", file=sys.stderr)
            return 1
        excerpt = work / "excerpt.html"
        excerpt.write_text(
            "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"{style.group(0)}</head><body><h1>MDM client certification</h1>"
            f"{banner.group(0)}{failure.group(0)}</body></html>",
            encoding="utf-8",
        )
        subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--no-first-run", f"--user-data-dir={work / 'profile'}", "--hide-scrollbars",
             f"--screenshot={OUT}", "--window-size=1180,880", excerpt.as_uri()],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
    print(OUT)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
