"""The test id a certification report records, whatever rootdir pytest chose."""

import pytest

from harness.contracts.session import _test_id


@pytest.mark.parametrize(
    "nodeid",
    [
        "harness/contracts/test_transport.py::test_t4",  # a checkout, rooted at the project
        "test_transport.py::test_t4",  # an installed suite, rooted at its own folder
        "contracts/test_transport.py::test_t4",  # rooted one folder above it
        "../../venv/lib/python3.11/site-packages/harness/contracts/test_transport.py::test_t4",
        "tmp/venv/lib/python3.11/site-packages/harness/contracts/test_transport.py::test_t4",
    ],
)
def test_every_rootdir_gives_the_packages_own_test_id(nodeid: str) -> None:
    assert _test_id(nodeid) == "harness/contracts/test_transport.py::test_t4"


def test_a_file_that_is_not_in_the_suite_keeps_its_node_id() -> None:
    assert _test_id("tests/test_other.py::test_x") == "tests/test_other.py::test_x"
