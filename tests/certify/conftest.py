"""The certify runs that many end-to-end tests read, each made once per session (runs.once).

* ``broken_run``: a zoo client that re-sends a wipe after a 503 (T8, a MUST), certified on
  :data:`runs.SELECTION` - the failing report, its replay files, its pictures;
* ``advice_run``: a zoo client that ignores its declared backoff (T4, a SHOULD: advice, exit
  0) on the same selection and seed, certified as two shards (``--shard 1/2``, ``2/2``) and
  merged with ``report merge`` - the advice end to end, the sharding and merging end to end,
  and the other side of ``report diff``. Its verdicts are the broken run's but for T8 (which it
  keeps) and T4 (which it breaks, and which depends on timing).
"""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from .runs import (
    SEED,
    SELECTION,
    ZOO_POLICY,
    Run,
    ShardedRun,
    certify_once,
    completed,
    mdm_harness,
    once,
    recorded,
)

#: One worker, the selection, the seed; the quick profile (4 examples a test, no shrinking: the
#: failing cases are parametrised, not drawn) - what the tests read does not need more.
RUN_OPTIONS = ("-n", "1", "-k", SELECTION, "--seed", SEED, "--profile", "quick")


@pytest.fixture(scope="session")
def broken_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return certify_once(
        tmp_path_factory, "broken",
        "--client", "zoo_clients:resends_wipe", "--policy", str(ZOO_POLICY),
        "--client-version", "9.9-zoo", *RUN_OPTIONS,
    )  # fmt: skip


@pytest.fixture(scope="session")
def advice_run(tmp_path_factory: pytest.TempPathFactory) -> ShardedRun:
    def produce(where: Path) -> dict[str, Any]:
        def shard(k: int) -> subprocess.CompletedProcess[str]:
            return mdm_harness(
                "certify", "--client", "zoo_clients:ignores_backoff",
                "--policy", str(ZOO_POLICY), *RUN_OPTIONS, "--shard", f"{k}/2",
                "--report", str(where / f"shard{k}"), cwd=where,
            )  # fmt: skip

        # side by side: the same CPU, half the time a worker waits on this fixture
        with ThreadPoolExecutor(2) as pool:
            shards = list(pool.map(shard, (1, 2)))
        merged = mdm_harness(
            "report", "merge", str(where / "shard1"), str(where / "shard2"),
            "-o", str(where / "merged"), cwd=where,
        )  # fmt: skip
        return {"shards": [recorded(p) for p in shards], "merged": recorded(merged)}

    where, result = once(tmp_path_factory, "advice", produce)
    return ShardedRun(
        [
            Run(where / f"shard{k}", completed(r))
            for k, r in zip((1, 2), result["shards"], strict=True)
        ],
        Run(where / "merged", completed(result["merged"])),
    )
