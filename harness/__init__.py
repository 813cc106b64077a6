"""mdm-harness: a fault-injection harness and contract-test suite for clients of the Cisco ISE MDM API.

The pieces (see README.md):

* :mod:`harness.mdm` - the reference MDM (ISE MDM API v1-v3, shaped like Jamf Pro);
* :mod:`harness.proxy` - the fault-injecting mitmproxy addon, its faults and journal;
* :mod:`harness.scenario` - declarative scenario files;
* :mod:`harness.client` - the adapter protocol, the reference client, test-connection;
* :mod:`harness.contracts` - the pytest plugin and contract suite (``contracts/`` in the repo).
"""

__version__ = "0.1.0"
