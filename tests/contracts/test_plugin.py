"""The contract suite's pytest plugin (``harness.contracts.plugin``), tested with ``pytester``.

Each test runs an inner pytest session the way a vendor does - the plugin loaded by its
``pytest11`` entry point, or by ``-p`` - on small test files written here or on the suite
itself (``--pyargs harness.contracts``, collected only: the suite's cases are run by
``tests/zoo`` and ``tests/certify``). Inner sessions run in-process where they can (fast); a
run that needs xdist or starts the harness's servers runs in a subprocess.
"""

from __future__ import annotations

import dataclasses
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness._util import DIE_WITH_PARENT_ENV
from harness.client import REFERENCE_POLICY_PATH, load_policy
from harness.contracts import config as suite_config
from harness.contracts.catalog import CONTRACTS, GROUPS

# An in-process inner session removes from sys.modules every module it imported first
# (pytester restores the snapshot): a YAML loader imported there would be imported afresh
# later, beside classes of the old one - and every inner session would import (and rewrite
# the asserts of) the suite's modules again. Import them here, once, for all of them.
load_policy(REFERENCE_POLICY_PATH)
import harness.contracts.cases  # noqa: E402
import harness.contracts.session  # noqa: E402
import harness.contracts.strategies  # noqa: E402, F401

#: Every option of the plugin: its flag, and its ini key.
OPTIONS = ("mdm_client", "mdm_policy", "mdm_profile", "mdm_seed", "mdm_report", "mdm_shard")

#: An inner test that writes the resolved suite options (the ``mdm_suite_config`` fixture).
CONFIG_TEST = """
import dataclasses, json
from pathlib import Path

import pytest


@pytest.mark.contract("T1")
@pytest.mark.transport
def test_config(mdm_suite_config):
    Path("config.json").write_text(json.dumps(dataclasses.asdict(mdm_suite_config)))
"""


@pytest.fixture(autouse=True)
def inner_sessions(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Inner sessions see a clean environment, load the plugin as ``-p`` asks (no autoload of
    other plugins unless a test turns it back on), and leave the outer session's suite
    configuration (a module global the plugin sets) as they found it."""
    for name in ("PYTEST_XDIST_WORKER", "PYTEST_ADDOPTS", "PYTEST_PLUGINS", DIE_WITH_PARENT_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setattr(suite_config, "CURRENT", suite_config.CURRENT)
    yield


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """An in-process inner session with the plugin loaded the explicit way (the outer session
    imported it already, so pytest cannot rewrite its asserts: that warning is expected)."""
    return pytester.runpytest_inprocess(
        "-p", "harness.contracts.plugin", "-p", "no:cacheprovider",
        "-W", "ignore::pytest.PytestAssertRewriteWarning", *args,
    )  # fmt: skip


def config_of(pytester: pytest.Pytester, *args: str) -> dict[str, object]:
    pytester.makepyfile(test_config=CONFIG_TEST)
    result = run(pytester, *args)
    assert result.ret == pytest.ExitCode.OK, result.stdout.str() + result.stderr.str()
    return dict(json.loads((pytester.path / "config.json").read_text()))


# ------------------------------------------------------------------------------------ loading


@pytest.mark.parametrize(
    ("autoload", "args"),
    [
        (True, ()),
        (False, ("-p", "mdm_harness")),
        (False, ("-p", "harness.contracts.plugin")),
    ],
    ids=["entry-point", "p-entry-point-name", "p-module"],
)
def test_the_plugin_loads_every_way_a_user_loads_it(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    autoload: bool,
    args: tuple[str, ...],
) -> None:
    if autoload:
        monkeypatch.delenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    pytester.makepyfile(test_config=CONFIG_TEST)
    result = pytester.runpytest_inprocess(
        *args, "-p", "no:cacheprovider", "--strict-markers", "--mdm-seed", "7"
    )
    assert result.ret == pytest.ExitCode.OK, result.stdout.str() + result.stderr.str()
    assert json.loads((pytester.path / "config.json").read_text())["seed"] == 7


def test_without_the_plugin_its_options_are_unknown(pytester: pytest.Pytester) -> None:
    """The negative control of the loading test: nothing else supplies the options."""
    pytester.makepyfile(test_config=CONFIG_TEST)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--mdm-seed", "7")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unrecognized arguments: --mdm-seed*"])


# ------------------------------------------------------------------------------------ options


def test_help_lists_every_option_and_ini_key(pytester: pytest.Pytester) -> None:
    result = run(pytester, "--help")
    assert result.ret == pytest.ExitCode.OK
    text = result.stdout.str()
    assert "mdm-harness contract suite:" in text
    for name in OPTIONS:
        assert "--" + name.replace("_", "-") in text, name
        result.stdout.fnmatch_lines([f"  {name} (*):*"])  # the ini key, with its help
    result.stdout.fnmatch_lines(["*--mdm-profile*{quick,standard,thorough}*"])


def test_defaults_when_nothing_is_given(pytester: pytest.Pytester) -> None:
    config = config_of(pytester)
    seed = config.pop("seed")
    assert config == {
        "client": None,
        "policy": None,
        "profile": "standard",
        "report": None,
        "shard": None,
    }
    assert isinstance(seed, int) and 0 <= seed < 2**32


def test_an_unset_seed_is_drawn_per_run(pytester: pytest.Pytester) -> None:
    seeds = {config_of(pytester)["seed"] for _ in range(3)}
    assert len(seeds) > 1  # three equal draws from 2**32 would be a fixed seed


INI = """
[pytest]
mdm_client = ini-client --flag
mdm_policy = ini-policy.yaml
mdm_profile = thorough
mdm_seed = 11
mdm_report = ini-report
mdm_shard = 1/1
"""


def test_the_ini_file_sets_every_option(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    assert config_of(pytester) == {
        "client": "ini-client --flag",
        "policy": "ini-policy.yaml",
        "profile": "thorough",
        "seed": 11,
        "report": "ini-report",
        "shard": "1/1",
    }


def test_the_command_line_wins_over_the_ini_file(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    config = config_of(
        pytester,
        "--mdm-client=cli-client",
        "--mdm-policy=cli-policy.yaml",
        "--mdm-profile=quick",
        "--mdm-seed=12",
        "--mdm-report=cli-report",
        "--mdm-shard=1/1",
    )
    assert config == {
        "client": "cli-client",
        "policy": "cli-policy.yaml",
        "profile": "quick",
        "seed": 12,
        "report": "cli-report",
        "shard": "1/1",
    }


@pytest.mark.parametrize(
    ("args", "ini", "message"),
    [
        (["--mdm-profile", "fast"], "", "*argument --mdm-profile: invalid choice: 'fast'*"),
        (
            [],
            "mdm_profile = fast",
            "*--mdm-profile='fast' is not one of quick, standard, thorough*",
        ),
        (["--mdm-seed", "soon"], "", "*--mdm-seed='soon' is not an integer*"),
        ([], "mdm_seed = 1.5", "*--mdm-seed='1.5' is not an integer*"),
        (["--mdm-shard", "3/2"], "", "*--mdm-shard: shard '3/2': K must be between 1 and N=2*"),
        (["--mdm-shard", "half"], "", "*--mdm-shard: shard 'half' is not K/N*"),
        ([], "mdm_shard = 0/0", "*--mdm-shard: shard '0/0': N must be at least 1*"),
    ],
    ids=["profile", "ini-profile", "seed", "ini-seed", "shard-range", "shard-form", "ini-shard"],
)
def test_a_bad_option_value_is_a_usage_error(
    pytester: pytest.Pytester, args: list[str], ini: str, message: str
) -> None:
    pytester.makeini(f"[pytest]\n{ini}\n")
    pytester.makepyfile(test_config=CONFIG_TEST)
    result = run(pytester, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert not (pytester.path / "config.json").exists()  # nothing ran


FIXTURE_TEST = """
def test_policy(mdm_policy):
    pass

def test_client(mdm_client):
    pass
"""


@pytest.mark.parametrize(
    ("args", "errors"),
    [
        (
            ["--mdm-client", "some-client"],
            {"test_policy": "--mdm-policy is required with --mdm-client"},
        ),
        (["--mdm-policy", "no-such-policy.yaml"], {"test_policy": "--mdm-policy: "}),
        (
            ["--mdm-client", "'unbalanced", "--mdm-policy", "{reference}"],
            {"test_client": '--mdm-client: client command "\'unbalanced" cannot be split'},
        ),
    ],
    ids=["client-without-policy", "missing-policy", "bad-client-spec"],
)
def test_a_bad_client_or_policy_errors_the_tests_that_need_it(
    pytester: pytest.Pytester, args: list[str], errors: dict[str, str]
) -> None:
    pytester.makepyfile(test_fixtures=FIXTURE_TEST)
    result = run(pytester, *(a.format(reference=REFERENCE_POLICY_PATH) for a in args))
    outcomes = result.parseoutcomes()
    assert outcomes.get("errors", 0) == len(errors), result.stdout.str()
    for test, message in errors.items():
        result.stdout.fnmatch_lines([f"*ERROR at setup of {test}*", f"E *UsageError: {message}*"])


def test_the_defaults_are_the_reference_client_and_its_policy(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_defaults="""
        from harness.client import REFERENCE_POLICY_PATH, load_policy

        def test_defaults(mdm_policy, mdm_client):
            assert mdm_policy == load_policy(REFERENCE_POLICY_PATH)
            assert "harness.client.reference" in str(mdm_client)
        """
    )
    result = run(pytester)
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()


# ------------------------------------------------------------------------------------ header


def test_the_header_names_the_run_only_when_the_suite_is_collected(
    pytester: pytest.Pytester,
) -> None:
    suite = run(pytester, "--pyargs", "harness.contracts", "--collect-only", "--mdm-seed", "99")
    assert suite.ret == pytest.ExitCode.OK, suite.stdout.str()
    suite.stdout.fnmatch_lines(
        [
            "mdm-harness: client=reference client (subprocess) policy=reference policy "
            "profile=standard seed=99",
            "mdm-harness: replay this run with --mdm-seed 99",
        ]
    )
    pytester.makepyfile(test_config=CONFIG_TEST)
    other = run(pytester, "--mdm-seed", "99")
    assert other.ret == pytest.ExitCode.OK
    assert "mdm-harness:" not in other.stdout.str()


def test_xdist_workers_share_the_drawn_seed(pytester: pytest.Pytester) -> None:
    """The seed is drawn once, by the controller: every worker draws the same cases."""
    pytester.makepyfile(
        test_seeds="""
        import os
        from pathlib import Path

        import pytest

        @pytest.mark.parametrize("n", range(8))
        def test_seed(mdm_suite_config, n):
            worker = os.environ["PYTEST_XDIST_WORKER"]
            Path(f"seed-{worker}-{n}").write_text(str(mdm_suite_config.seed))
        """
    )
    result = pytester.runpytest_subprocess(
        "-p", "harness.contracts.plugin", "-p", "xdist", "-p", "no:cacheprovider", "-n", "2",
        timeout=120,
    )  # fmt: skip
    assert result.ret == pytest.ExitCode.OK, result.stdout.str() + result.stderr.str()
    files = list(pytester.path.glob("seed-gw*"))
    assert len(files) == 8 and {f.name.split("-")[1] for f in files} == {"gw0", "gw1"}
    assert len({f.read_text() for f in files}) == 1


# ------------------------------------------------------------------------------------ markers


def test_markers_are_registered_for_strict_runs(pytester: pytest.Pytester) -> None:
    listing = run(pytester, "--markers")
    listing.stdout.fnmatch_lines(
        ["@pytest.mark.contract(id): the contract (T1..S5) a test certifies"]
    )
    for group in GROUPS:
        listing.stdout.fnmatch_lines([f"@pytest.mark.{group}: contracts of the {group} group"])
    pytester.makepyfile(
        test_marked="""
        import pytest

        @pytest.mark.contract("P1")
        @pytest.mark.parsing
        @pytest.mark.protocol
        @pytest.mark.security
        @pytest.mark.transport
        def test_marked():
            pass
        """
    )
    assert run(pytester, "--strict-markers").ret == pytest.ExitCode.OK
    # the negative control: --strict-markers does refuse a marker nobody registered
    pytester.makepyfile(
        test_other="import pytest\n\n@pytest.mark.levels\ndef test_x():\n    pass\n"
    )
    assert run(pytester, "--strict-markers").ret == pytest.ExitCode.INTERRUPTED


def selected(pytester: pytest.Pytester, *args: str) -> list[pytest.Item]:
    """The suite's tests a session would run with ``args`` (after -k, -m and sharding)."""
    recorder = pytester.inline_run(
        "-p", "harness.contracts.plugin", "-p", "no:cacheprovider", "--collect-only",
        "--pyargs", "harness.contracts", *args,
    )  # fmt: skip
    (call,) = recorder.getcalls("pytest_collection_finish")
    return list(call.session.items)


def _contract(item: pytest.Item) -> str:
    marker = item.get_closest_marker("contract")
    assert marker is not None and marker.args, item.nodeid
    return str(marker.args[0])


def test_every_suite_test_names_a_catalog_contract_and_its_group(pytester: pytest.Pytester) -> None:
    """The contract marker is how a verdict finds its catalog entry (level, group, promise):
    every test of the suite carries one, of a contract in the catalog, in its group's marker;
    and every contract of the catalog has tests."""
    items = selected(pytester)
    assert len(items) > 100
    for item in items:
        contract = CONTRACTS[_contract(item)]
        groups = {g for g in GROUPS if item.get_closest_marker(g) is not None}
        assert groups == {contract.group}, item.nodeid
    assert {_contract(item) for item in items} == set(CONTRACTS)
    assert {CONTRACTS[_contract(item)].level for item in items} == {"MUST", "SHOULD"}


@pytest.mark.parametrize("group", GROUPS)
def test_a_group_marker_selects_exactly_that_groups_contracts(
    pytester: pytest.Pytester, group: str
) -> None:
    items = selected(pytester, "-m", group)
    assert {_contract(item) for item in items} == {
        c.id for c in CONTRACTS.values() if c.group == group
    }


def test_each_test_names_its_contract_in_the_junit_report(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_junit="""
        import pytest

        @pytest.mark.contract("R6")
        def test_contract():
            pass

        def test_plain():
            pass
        """
    )
    result = run(pytester, "--junitxml=junit.xml")
    assert result.ret == pytest.ExitCode.OK
    properties = {
        case.get("name"): {p.get("name"): p.get("value") for p in case.iter("property")}
        for case in ET.parse(pytester.path / "junit.xml").iter("testcase")
    }
    assert properties == {"test_contract": {"contract": "R6"}, "test_plain": {}}


# ------------------------------------------------------------------------------------ outcomes


CLASSIFIED = """
import pytest

from harness.contracts.session import ClientUnusable
from harness.errors import HarnessError


@pytest.mark.contract("T1")
def test_verdict():
    pytest.fail("the client retried a 401")


@pytest.mark.contract("T2")
def test_assertion():
    assert 1 == 2, "two attempts, one declared"


@pytest.mark.contract("T3")
def test_harness_failed():
    raise HarnessError("the proxy died")


@pytest.mark.contract("T5")
def test_harness_bug():
    raise KeyError("attempts")


@pytest.fixture
def unusable_client():
    # what the suite's mdm_harness fixture raises when the client cannot even start
    raise ClientUnusable("command 'x' not found on PATH")


@pytest.mark.contract("T6")
def test_client_unusable(unusable_client):
    pass


@pytest.mark.contract("T7")
def test_holds():
    pass


def test_not_a_contract():
    raise KeyError("not the suite's")
"""


def test_verdicts_fail_and_the_harness_s_own_failures_are_errors(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_classified=CLASSIFIED)
    result = run(pytester, "--junitxml=junit.xml", "--mdm-seed", "42")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert result.parseoutcomes() == {"failed": 3, "errors": 3, "passed": 1}
    cases = {
        case.get("name"): case for case in ET.parse(pytester.path / "junit.xml").iter("testcase")
    }

    def outcome(name: str) -> tuple[str, dict[str | None, str | None], str]:
        case = cases[name]
        kinds = [child for child in case if child.tag in ("failure", "error")]
        assert len(kinds) == 1, name
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        return kinds[0].tag, props, (kinds[0].text or "") + (kinds[0].get("message") or "")

    for name in ("test_verdict", "test_assertion"):
        tag, props, text = outcome(name)
        assert tag == "failure" and "harness_error" not in props, name
        assert "replay the whole run with --mdm-seed 42" in text, name
    tag, props, text = outcome("test_harness_failed")
    assert tag == "error" and props["harness_error"] == "the proxy died"
    assert "ERROR (harness): the proxy died" in text
    tag, props, text = outcome("test_harness_bug")
    assert tag == "error" and props["harness_error"] == "KeyError in the harness: 'attempts'"
    assert "Traceback" in text or "raise KeyError" in text  # a bug of ours keeps its traceback
    tag, props, _ = outcome("test_client_unusable")
    assert tag == "error" and props["client_unusable"] == "command 'x' not found on PATH"
    assert "harness_error" not in props
    tag, props, text = outcome("test_not_a_contract")  # outside the suite: left alone
    assert tag == "failure" and set(props) == set() and "--mdm-seed" not in text


# ------------------------------------------------------------------------------------ shards


def _ids(items: list[pytest.Item]) -> list[str]:
    return [item.nodeid for item in items]


def test_shards_partition_the_suite_deterministically(pytester: pytest.Pytester) -> None:
    def collect(*args: str) -> list[str]:
        return _ids(selected(pytester, *args))

    everything = collect()
    shards = [collect("--mdm-shard", f"{k}/3") for k in (1, 2, 3)]
    assert sorted(n for shard in shards for n in shard) == sorted(everything)  # each test once
    assert max(map(len, shards)) - min(map(len, shards)) <= 1
    assert collect("--mdm-shard", "2/3") == shards[1]  # the same split every time


def test_a_shard_deselects_only_contract_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_mixed="""
        import pytest

        @pytest.mark.parametrize("n", range(4))
        @pytest.mark.contract("R6")
        def test_contract(n):
            pass

        def test_plain():
            pass
        """
    )
    for k in (1, 2):
        result = run(pytester, "--mdm-shard", f"{k}/2", "-v")
        assert result.ret == pytest.ExitCode.OK
        assert result.parseoutcomes() == {"passed": 3, "deselected": 2}
        result.stdout.fnmatch_lines(["*::test_plain PASSED*"])


def test_no_tests_is_exit_code_5(pytester: pytest.Pytester) -> None:
    """A selection that runs nothing must not pass for a run that passed (CI treats 5 as a
    failure: see tox.ini)."""
    nothing = run(pytester, "--pyargs", "harness.contracts", "-k", "no_such_contract_test")
    assert nothing.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    pytester.makepyfile(
        test_one='import pytest\n\n@pytest.mark.contract("R6")\ndef test_one():\n    pass\n'
    )
    assert run(pytester, "--mdm-shard", "1/2").ret == pytest.ExitCode.OK
    assert run(pytester, "--mdm-shard", "2/2").ret == pytest.ExitCode.NO_TESTS_COLLECTED


# ------------------------------------------------------------------------------------ a real run


def test_a_real_run_writes_its_verdicts_to_the_report_directory(pytester: pytest.Pytester) -> None:
    """End to end, as a vendor runs one contract: the reference client (in-process) through the
    real proxy and MDM; --mdm-report gets the verdict records, the JUnit report the contract."""
    result = pytester.runpytest_subprocess(
        "-p", "harness.contracts.plugin", "-p", "no:cacheprovider", "--pyargs", "harness.contracts",
        "-k", "test_r6", "--mdm-client", "harness.client.reference:factory",
        "--mdm-policy", str(REFERENCE_POLICY_PATH), "--mdm-profile", "quick", "--mdm-seed", "5",
        "--mdm-report", "verdicts", "--junitxml", "junit.xml",
        timeout=300,
    )  # fmt: skip
    assert result.ret == pytest.ExitCode.OK, result.stdout.str() + result.stderr.str()
    records = [
        json.loads(line)
        for path in (pytester.path / "verdicts").glob("verdicts-*.jsonl")
        for line in path.read_text(encoding="utf-8").splitlines()
    ]
    assert records and {r["verdict"]["contract"] for r in records} == {"R6"}
    assert all(r["verdict"]["passed"] for r in records)
    cases = list(ET.parse(pytester.path / "junit.xml").iter("testcase"))
    assert cases and all(
        {p.get("name"): p.get("value") for p in c.iter("property")} == {"contract": "R6"}
        for c in cases
    )


def test_the_suite_config_record_matches_the_options() -> None:
    """The options this file checks are exactly the fields the plugin resolves."""
    fields = {f.name for f in dataclasses.fields(suite_config.SuiteConfig)}
    assert {name.removeprefix("mdm_") for name in OPTIONS} == fields


def test_ci_fails_on_exit_code_5() -> None:
    """tox fails a run on any non-zero exit of a command unless the command starts with "-" or
    the environment ignores its outcome; .ci/run stops on tox's failure."""
    import configparser

    root = Path(__file__).parents[2]
    tox = configparser.ConfigParser(interpolation=None)
    tox.read(root / "tox.ini", encoding="utf-8")
    for section in tox.sections():
        commands = [c.strip() for c in tox[section].get("commands", "").splitlines()]
        assert not [c for c in commands if c.startswith("-")], section
        assert "ignore_outcome" not in tox[section] and "ignore_errors" not in tox[section]
    run = (root / ".ci" / "run").read_text(encoding="utf-8")
    assert "set -euo pipefail" in run and "|| true" not in run
