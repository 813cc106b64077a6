"""Exec form of the zoo: ``python run_zoo.py <zoo name> <operation> [args]`` speaks the adapter protocol."""

from __future__ import annotations

import json
import os
import sys

from zoo_clients import HONEST, ZOO, ZooAdapter

if __name__ == "__main__":
    name, operation, *args = sys.argv[1:]
    zoo = ZOO.get(name) or HONEST[name]
    obj = ZooAdapter(zoo.client, zoo.policy).run(operation, args, os.environ)
    sys.stdout.write(json.dumps(obj) + "\n")
