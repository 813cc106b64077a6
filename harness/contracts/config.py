"""The suite's resolved options, set once by the plugin's ``pytest_configure``."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

#: Hypothesis examples per contract test, per profile (``quick`` does not shrink failures).
PROFILE_EXAMPLES = {"quick": 4, "standard": 10, "thorough": 50}
#: The profiles, in order of cost.
PROFILES: tuple[str, ...] = tuple(PROFILE_EXAMPLES)


@dataclass(frozen=True)
class SuiteConfig:
    client: str | None
    policy: str | None
    profile: str
    seed: int
    report: str | None
    shard: str | None = None


CURRENT: SuiteConfig | None = None


def current() -> SuiteConfig:
    return CURRENT or SuiteConfig(client=None, policy=None, profile="standard", seed=0, report=None)


def reference_policy_path() -> Path:
    from harness.client import REFERENCE_POLICY_PATH

    return Path(REFERENCE_POLICY_PATH)


def reference_client_command() -> str:
    """The bundled reference client as a real subprocess, independent of ``PATH`` and the cwd."""
    from harness._util import python

    return shlex.join(python("-m", "harness.client.reference", "--quiet"))


def suite_settings(*, examples: int | None = None, scale: float = 1.0) -> Callable[[F], F]:
    """Hypothesis settings for a contract test: the profile's example count, the suite's seed.

    ``examples`` fixes the count; ``scale`` takes a share of the profile's count (at least 1),
    for tests parametrized into several families. Put it above ``@given``. No example database
    is written (a certification run leaves nothing behind but its report), and failures print
    their reproduction blob.
    """
    from hypothesis import HealthCheck, Phase, seed, settings

    suite = current()
    count = (
        examples if examples is not None else max(1, round(PROFILE_EXAMPLES[suite.profile] * scale))
    )
    # The quick profile (CI regression runs, the zoo) reports the first failing example as
    # drawn; the others shrink it to a minimal document or schedule first.
    quick = (Phase.explicit, Phase.reuse, Phase.generate)
    phases = quick if suite.profile == "quick" else tuple(Phase)

    def decorate(test: F) -> F:
        wrapped = settings(
            max_examples=count,
            deadline=None,
            database=None,
            print_blob=True,
            phases=phases,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )(test)
        return seed(suite.seed)(wrapped)

    return decorate
