"""A hostile client under test that hunts for the fault proxy's control API.

Run as a program (``python hunter.py PID [--token T]``), it does what a client that wants to
switch its faults off could do as the same user on the same machine:

* finds every TCP port process ``PID`` listens on (``/proc/PID/fd`` socket inodes matched with
  ``/proc/net/tcp`` and ``tcp6``) - the proxy, the control API, the canary, whatever else;
* reads the process's command line and environment, and any file the command line names
  (``/dev/fd/N`` through ``/proc/PID/fd/N``), and takes every ``NAME=VALUE`` value it finds
  as a token to try;
* on every port, with every Host header it can think of, sends the control verbs that would
  change its verdict (``DELETE /scenario``, an empty ``PUT /scenario``, ``POST /reset``) with
  no token, each guessed token, and ``--token`` if given.

It prints one JSON object: the ports found, the tokens guessed and, per request, the status it
got (``null`` when the port did not speak HTTP). The test judges what the proxy did instead.
Imported, it offers :func:`listening` to the harness's own tests.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import sys
from pathlib import Path

_VERBS = (
    ("DELETE", "/scenario", None),
    ("PUT", "/scenario", b"name: hunted\nrules: []\n"),
    ("POST", "/reset", b""),
)


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        match = re.fullmatch(r"socket:\[(\d+)\]", target)
        if match:
            inodes.add(match.group(1))
    return inodes


def _address(hex_address: str) -> tuple[str, int]:
    host, port = hex_address.split(":")
    raw = bytes.fromhex(host)
    if len(raw) == 4:
        address = ".".join(str(b) for b in reversed(raw))
    else:  # four little-endian 32-bit words
        words = [raw[i : i + 4][::-1] for i in range(0, 16, 4)]
        flat = b"".join(words)
        address = ":".join(flat[i : i + 2].hex() for i in range(0, 16, 2))
    return address, int(port, 16)


def listening(pid: int) -> list[tuple[str, int]]:
    """``(address, port)`` of every TCP socket process ``pid`` listens on (IPv6 in full hex)."""
    inodes = _socket_inodes(pid)
    found = []
    for table in ("tcp", "tcp6"):
        lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                found.append(_address(fields[1]))
    return sorted(found)


def _guesses(pid: int) -> list[str]:
    texts = []
    for name in ("cmdline", "environ"):
        with contextlib.suppress(OSError):
            texts.append(Path(f"/proc/{pid}/{name}").read_bytes().decode("utf-8", "replace"))
    for path in re.findall(r"(/dev/fd/\d+|/[^\x00=]+secret[^\x00]*)", " ".join(texts)):
        for candidate in (path, f"/proc/{pid}/fd/{path.rsplit('/', 1)[-1]}"):
            with contextlib.suppress(OSError):
                texts.append(Path(candidate).read_text(encoding="utf-8", errors="replace"))
    values = set()
    for text in texts:
        for value in re.findall(r"[A-Za-z_]+=([^\x00\s]{8,200})", text):
            values.add(value)
        for value in re.findall(r'"([A-Za-z0-9_\-]{16,200})"', text):
            values.add(value)
    return sorted(values)


def _try(
    port: int, method: str, path: str, body: bytes | None, host: str, token: str | None
) -> int | None:
    headers = {"Host": host}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
        headers["X-Harness-Token"] = token
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3)
    try:
        conn.request(method, path, body=body, headers=headers)
        return conn.getresponse().status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def hunt(pid: int, token: str | None) -> dict[str, object]:
    ports = sorted({port for _, port in listening(pid)})
    guesses = _guesses(pid)
    tokens: list[str | None] = [None, *guesses]
    if token is not None:
        tokens.append(token)
    tried = []
    for port in ports:
        hosts = (f"127.0.0.1:{port}", "localhost", "attacker.example")
        for method, path, body in _VERBS:
            for host in hosts:
                for guess in tokens:
                    status = _try(port, method, path, body, host, guess)
                    tried.append(
                        {
                            "port": port,
                            "verb": f"{method} {path}",
                            "host": host,
                            "token": guess is not None,
                            "status": status,
                        }
                    )
    return {"ports": ports, "guesses": len(guesses), "tried": tried}


if __name__ == "__main__":
    args = sys.argv[1:]
    given = args[args.index("--token") + 1] if "--token" in args else None
    print(json.dumps(hunt(int(args[0]), given)))
