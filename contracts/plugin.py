"""The mdm-harness pytest plugin (fixtures and options arrive with the contract-suite issue)."""
