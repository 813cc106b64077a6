"""The scenario library: YAML files, looked up by name through harness.scenario."""
