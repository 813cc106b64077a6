"""Peers for ``mdm-harness bench``: the same work done by tools everyone knows, side by side.

* **nginx** (when ``nginx`` is on ``PATH``) serves the very bytes of a reference-MDM lookup
  reply as a static file over TLS with the harness CA's leaf, measured by the reference MDM
  benchmark's own load generator right after its static baseline (:func:`measure_nginx`, a
  ``static_peer`` of :func:`harness.mdm.bench.run`). nginx runs from a generated config in a
  temporary directory on a free loopback port and is stopped afterwards.
* **WireMock** standalone (a jar the user gives; Java on ``PATH``) serves "503 twice, then 200"
  as a WireMock scenario, beside ours: the fault proxy with the sequence
  ``[status_503, status_503, pass]`` in front of the reference MDM (:func:`retry_exchange`).
  Both answer the same request with the same bytes; the figure is the client's time to
  success over the three-request exchange, measured in alternating rounds by one load
  generator (:mod:`harness._retry_loadgen`). Our side is always measured; WireMock's is
  marked absent without a jar.

Nothing of either peer is kept: configs, keystores and logs live in temporary directories.

Over 400 lines: two peers (nginx and WireMock) set up, run and measured side by side with our
own side by one load generator; each half is short, and they share the rounds.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from harness import _util

# The proxy benchmark's port helpers: a port the OS just handed out, and whether it listens.

if TYPE_CHECKING:
    from harness.tls import CertificateAuthority

__all__ = ["NGINX_KEYS", "RETRY_KEYS", "WireMock", "measure_nginx", "nginx", "retry_exchange"]

Progress = Callable[[str], None]

#: Figures of the nginx peer (latencies in ms over the same requests as the static baseline).
NGINX_KEYS: dict[str, str] = {
    "nginx_version": "nginx's version (nginx -v)",
    "nginx_p50_ms": "the lookup reply's bytes as a static file from nginx over TLS, median",
    "nginx_p99_ms": "the same, 99th percentile",
    "nginx_rps": "the same, requests per second on the one connection",
    "nginx_errors": "non-200 answers from nginx (should be 0)",
}

#: Figures of the "503 twice, then 200" exchange (times to success in ms).
RETRY_KEYS: dict[str, str] = {
    "retry_exchanges": "measured exchanges per server (after warm-up), in alternating rounds",
    "retry_ours_p50_ms": "ours (fault proxy, sequence [status_503, status_503, pass], reference MDM): time to success, median",
    "retry_ours_p99_ms": "ours: time to success, 99th percentile",
    "retry_wiremock_status": "'measured', or 'absent: <why>' (no jar given, no java)",
    "retry_wiremock_version": "the WireMock jar's file name (None when absent)",
    "retry_wiremock_p50_ms": "WireMock standalone scenario (503, 503, 200): time to success, median",
    "retry_wiremock_p99_ms": "WireMock: time to success, 99th percentile",
    "retry_ours_over_wiremock_p50": "ratio of medians, ours / WireMock",
    "retry_errors": "exchanges that did not go 503, 503, 200 (should be 0)",
}

_PUBLIC = "acme.jamfcloud.test"
_DISCOVERY_PATH = "/networkIntegrationEndpoint/7/ciscoise/mdminfo/"
_DISCOVERY = f"{_DISCOVERY_PATH}?ise_api_version=3"
#: Our side of the exchange, as a scenario.
RETRY_SCENARIO: dict[str, Any] = {
    "name": "503-twice-then-200",
    "rules": [
        {
            "name": "flaky-discovery",
            "match": {"operation": "mdminfo"},
            "schedule": {"sequence": ["status_503", "status_503", "pass"]},
        }
    ],
}


# -- nginx --------------------------------------------------------------------------------------


def nginx_version(executable: str) -> str:
    """``1.22.1`` from ``nginx -v`` (which prints on stderr)."""
    proc = subprocess.run(
        [executable, "-v"], capture_output=True, text=True, timeout=30, check=False
    )
    match = re.search(r"nginx/(\S+)", proc.stderr + proc.stdout)
    return match.group(1) if match else "unknown"


def _nginx_config(executable: str, workdir: Path, docroot: Path, pem: Path, port: int) -> str:
    built = subprocess.run([executable, "-V"], capture_output=True, text=True, timeout=30).stderr
    temp_paths = "\n".join(
        f"    {module}_temp_path {workdir / module};"
        for module in ("proxy", "fastcgi", "uwsgi", "scgi")
        if f"--without-http_{module}_module" not in built
    )
    return f"""\
daemon off;
master_process on;
worker_processes 1;
pid {workdir / "nginx.pid"};
error_log {workdir / "error.log"} error;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {workdir / "body"};
{temp_paths}
    types {{ application/xml xml; }}
    default_type application/octet-stream;
    sendfile on;
    tcp_nodelay on;
    keepalive_requests 10000000;
    keepalive_timeout 300s;
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {pem};
        ssl_certificate_key {pem};
        ssl_protocols TLSv1.2 TLSv1.3;
        root {docroot};
    }}
}}
"""


def _start_nginx(
    executable: str, workdir: Path, docroot: Path, pem: Path
) -> tuple[subprocess.Popen[bytes], int] | None:
    """nginx listening on a free port, or None if it exited (the port was taken meanwhile)."""
    port = _util.free_loopback_port()
    conf = workdir / "nginx.conf"
    conf.write_text(_nginx_config(executable, workdir, docroot, pem, port))
    command = [executable, "-p", str(workdir), "-e", str(workdir / "error.log"), "-c", str(conf)]
    with open(workdir / "stderr.log", "wb") as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=_util.scrubbed_env(),
            start_new_session=True,
        )

    def up() -> bool:
        return process.poll() is not None or _util.accepts_connections(port)

    try:
        _util.wait_until(up, timeout=30, what="nginx listening")
    except BaseException:
        _util.stop_process(process, 15.0)
        raise
    return (process, port) if process.poll() is None else None


@contextmanager
def nginx(executable: str, files: Path, pem: Path) -> Iterator[int]:
    """nginx serving a copy of the directory ``files`` over TLS with ``pem`` (key and chain);
    yields its loopback port. The config, copy and logs live in a temporary directory."""
    with tempfile.TemporaryDirectory(prefix="mdm-bench-nginx-") as tmp:
        workdir = Path(tmp)
        # nginx's workers drop root privileges: let them reach the copy (the key is read by
        # the master before they start).
        workdir.chmod(0o755)
        docroot = workdir / "root"
        shutil.copytree(files, docroot)
        for path in [docroot, *docroot.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        for _ in range(3):  # the free port may be taken between the OS's answer and nginx
            started = _start_nginx(executable, workdir, docroot, pem)
            if started is not None:
                break
        else:
            said = "".join(
                path.read_text(errors="replace") for path in sorted(workdir.glob("*.log"))
            )
            raise RuntimeError(f"nginx did not start: {said.strip()[-2000:]}")
        process, port = started
        try:
            yield port
        finally:
            _util.stop_process(process, 15.0)


def measure_nginx(
    static_dir: Path, ca_dir: Path, job: dict[str, Any], progress: Progress | None = None
) -> dict[str, Any]:
    """The nginx figures (:data:`NGINX_KEYS`) for one static-baseline job of the MDM benchmark."""
    from harness.mdm.bench import loadgen, summary
    from harness.tls import CertificateAuthority

    executable = shutil.which("nginx")
    if executable is None:
        raise FileNotFoundError("nginx is not on PATH")
    say = progress or (lambda message: None)
    leaf = CertificateAuthority.load_or_create(ca_dir).leaf(
        "localhost", "127.0.0.1", "::1", _PUBLIC
    )
    say(f"the same bytes as a static file, {len(job['measure'])} requests")
    with nginx(executable, static_dir, leaf.pem) as port:
        result = loadgen({**job, "port": port})
    p50, p99, rps = summary(result)
    return {
        "nginx_version": nginx_version(executable),
        "nginx_p50_ms": p50,
        "nginx_p99_ms": p99,
        "nginx_rps": rps,
        "nginx_errors": result["errors"],
    }


# -- WireMock -----------------------------------------------------------------------------------

_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z ]+)-----.+?-----END \1-----", re.S)


def _pkcs12(pem: Path, password: str) -> bytes:
    """A PKCS#12 keystore (what Java reads) of the key and chain in ``pem``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    blocks = [(m.group(1), m.group(0)) for m in _PEM_BLOCK.finditer(pem.read_bytes())]
    key = next(block for kind, block in blocks if kind.endswith(b"PRIVATE KEY"))
    certs = [
        x509.load_pem_x509_certificate(block) for kind, block in blocks if kind == b"CERTIFICATE"
    ]
    private_key = serialization.load_pem_private_key(key, password=None)
    return pkcs12.serialize_key_and_certificates(
        b"mdm-bench",
        private_key,  # type: ignore[arg-type]
        certs[0],
        certs[1:] or None,
        serialization.BestAvailableEncryption(password.encode()),
    )


def wiremock_mappings(
    failure: tuple[int, str, bytes], success: tuple[int, str, bytes], authorization: str
) -> dict[str, Any]:
    """WireMock stub mappings for "``failure`` twice, then ``success``" on the discovery request:
    a scenario whose state moves Started -> one-failure -> two-failures."""
    request = {
        "method": "GET",
        "urlPath": _DISCOVERY_PATH,
        "queryParameters": {"ise_api_version": {"equalTo": "3"}},
        "headers": {"Authorization": {"equalTo": authorization}},
    }

    def reply(answer: tuple[int, str, bytes]) -> dict[str, Any]:
        status, content_type, body = answer
        return {
            "status": status,
            "headers": {"Content-Type": content_type},
            "base64Body": base64.b64encode(body).decode(),
        }

    steps = [("Started", "one-failure", failure), ("one-failure", "two-failures", failure)]
    mappings: list[dict[str, Any]] = [
        {
            "scenarioName": "retry",
            "requiredScenarioState": state,
            "newScenarioState": new,
            "request": request,
            "response": reply(answer),
        }
        for state, new, answer in steps
    ]
    mappings.append(
        {
            "scenarioName": "retry",
            "requiredScenarioState": "two-failures",
            "request": request,
            "response": reply(success),
        }
    )
    return {"mappings": mappings}


class WireMock:
    """WireMock standalone (``java -jar JAR``) over HTTPS only, on a free loopback port, with
    ``mappings`` and a keystore made from ``pem`` (a leaf of the CA in ``ca_bundle``); a
    context manager yielding itself. Its request journal is capped like ours."""

    def __init__(
        self,
        jar: Path,
        pem: Path,
        ca_bundle: Path,
        mappings: dict[str, Any],
        *,
        journal_max: int = 1000,
    ) -> None:
        self.jar = jar
        self.pem = pem
        self.ca_bundle = ca_bundle
        self.mappings = mappings
        self.journal_max = journal_max
        self.port = 0
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> WireMock:
        java = shutil.which("java")
        if java is None:
            raise FileNotFoundError("java is not on PATH")
        self._tmp = tempfile.TemporaryDirectory(prefix="mdm-bench-wiremock-")
        root = Path(self._tmp.name)
        (root / "mappings").mkdir()
        (root / "__files").mkdir()
        (root / "mappings" / "retry.json").write_text(json.dumps(self.mappings, indent=2))
        password = secrets.token_hex(12)
        keystore = root / "keystore.p12"
        keystore.write_bytes(_pkcs12(self.pem, password))
        self.port = _util.free_loopback_port()
        command = [
            java, "-jar", str(self.jar), "--root-dir", str(root), "--bind-address", "127.0.0.1",
            "--disable-http", "--https-port", str(self.port), "--https-keystore", str(keystore),
            "--keystore-type", "PKCS12", "--keystore-password", password,
            "--key-manager-password", password, "--disable-banner",
            "--max-request-journal-entries", str(self.journal_max),
        ]  # fmt: skip
        self._log = root / "wiremock.log"
        with open(self._log, "wb") as log:
            self._process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=_util.scrubbed_env(), cwd=root, start_new_session=True,
            )  # fmt: skip
        try:
            _util.wait_until(self._ready, timeout=90, what="WireMock answering /__admin/health")
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _ready(self) -> bool:
        assert self._process is not None
        if self._process.poll() is not None:
            raise RuntimeError(
                f"WireMock exited with {self._process.returncode}: {self.output()[-2000:]}"
            )
        if not _util.accepts_connections(self.port):
            return False
        import http.client
        import ssl

        context = ssl.create_default_context(cafile=str(self.ca_bundle))
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=context, timeout=5)
        try:
            conn.request("GET", "/__admin/health")
            return conn.getresponse().status == 200
        except OSError:
            return False
        finally:
            conn.close()

    def output(self) -> str:
        try:
            return self._log.read_text(errors="replace")
        except (OSError, AttributeError):
            return ""

    @property
    def reset_url(self) -> str:
        return f"https://127.0.0.1:{self.port}/__admin/scenarios/reset"

    def __exit__(self, *exc_info: object) -> None:
        if self._process is not None:
            _util.stop_process(self._process, 15.0)
            self._process = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


# -- the "503 twice, then 200" exchange -------------------------------------------------------


class _RetrySizes(NamedTuple):
    warmup: int  # exchanges per server before the rounds (JIT and caches), not measured
    rounds: int  # alternating rounds, ours then WireMock's
    per_round: int  # measured exchanges per server and round


_RETRY_SIZES = {
    "full": _RetrySizes(200, 5, 100),
    "quick": _RetrySizes(30, 2, 30),
    "tiny": _RetrySizes(1, 1, 5),
}


def _exchange(job: dict[str, Any]) -> dict[str, Any]:
    proc = subprocess.run(
        _util.python("-m", "harness._retry_loadgen"),
        input=json.dumps(job), capture_output=True, text=True, timeout=900,
        env=_util.scrubbed_env(), check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"retry load generator failed: {proc.stderr.strip()[-2000:]}")
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def _answers(proxy_port: int, ca_bundle: Path, authorization: str) -> list[tuple[int, str, bytes]]:
    """Our three answers (status, Content-Type, body), for WireMock to send the same bytes."""
    import http.client
    import ssl

    context = ssl.create_default_context(cafile=str(ca_bundle))
    conn = http.client.HTTPSConnection("127.0.0.1", proxy_port, context=context, timeout=30)
    conn.set_tunnel(_PUBLIC, 443)
    answers = []
    try:
        for _ in range(3):
            conn.request("GET", _DISCOVERY, headers={"Authorization": authorization})
            response = conn.getresponse()
            answers.append(
                (response.status, response.getheader("Content-Type", ""), response.read())
            )
    finally:
        conn.close()
    return answers


def retry_exchange(
    size: str = "full", wiremock_jar: Path | None = None, progress: Progress | None = None
) -> dict[str, Any]:
    """Time to success of "503 twice, then 200": ours, and WireMock's when ``wiremock_jar`` is
    given. ``size`` is ``full``, ``quick`` or ``tiny``. See :data:`RETRY_KEYS`."""
    from harness.mdm import ReferenceMDM
    from harness.mdm.bench import summary
    from harness.proxy.launcher import FaultProxy
    from harness.tls import CertificateAuthority

    say = progress or (lambda message: None)
    sizes = _RETRY_SIZES[size]
    out: dict[str, Any] = {key: None for key in RETRY_KEYS}
    if wiremock_jar is None:
        out["retry_wiremock_status"] = "absent: no --peer-wiremock JAR given"
    elif shutil.which("java") is None:
        out["retry_wiremock_status"] = "absent: java is not on PATH"
    with tempfile.TemporaryDirectory(prefix="mdm-bench-retry-") as tmp:
        ca = CertificateAuthority.load_or_create(Path(tmp) / "ca")
        with (
            ReferenceMDM(ca=ca, devices=300, seed=1) as mdm,
            FaultProxy(mdm.origin, ca, state_dir=Path(tmp) / "proxy") as proxy,
        ):
            proxy.control.load_scenario(RETRY_SCENARIO)
            proxy.control.reset()
            answers = _answers(proxy.port, ca.bundle_path, mdm.authorization)
            if [status for status, _, _ in answers] != [503, 503, 200]:
                raise RuntimeError(
                    f"our scenario answered {[a[0] for a in answers]}, not 503, 503, 200"
                )
            base = {
                "ca": str(ca.bundle_path),
                "path": _DISCOVERY,
                "headers": {"Authorization": mdm.authorization},
            }
            ours = {
                **base,
                "target": [_PUBLIC, 443],
                "proxy": ["127.0.0.1", proxy.port],
                "reset": {
                    "method": "POST",
                    "url": f"{proxy.control.url}/reset",
                    "headers": {"Authorization": f"Bearer {proxy.control.token}"},
                },
            }
            jobs: dict[str, dict[str, Any]] = {"ours": ours}
            with _maybe_wiremock(
                out, wiremock_jar, ca, answers, mdm.authorization, say
            ) as wiremock:
                if wiremock is not None:
                    jobs["wiremock"] = {
                        **base,
                        "target": ["127.0.0.1", wiremock.port],
                        "proxy": None,
                        "reset": {"method": "POST", "url": wiremock.reset_url},
                    }
                samples: dict[str, list[int]] = {name: [] for name in jobs}
                errors = 0
                for name, job in jobs.items():
                    say(f"503 twice then 200: warm-up, {name}")
                    errors += _exchange({**job, "warmup": sizes.warmup, "exchanges": 0})["errors"]
                for r in range(sizes.rounds):
                    for name, job in jobs.items():
                        say(f"503 twice then 200: round {r + 1}/{sizes.rounds}, {name}")
                        result = _exchange({**job, "warmup": 2, "exchanges": sizes.per_round})
                        samples[name] += result["latencies_ns"]
                        errors += result["errors"]
    for name, values in samples.items():
        p50, p99, _ = summary({"latencies_ns": values, "total_s": 1.0})
        out[f"retry_{name}_p50_ms"], out[f"retry_{name}_p99_ms"] = p50, p99
    if "wiremock" in samples:
        out["retry_wiremock_status"] = "measured"
        out["retry_wiremock_version"] = wiremock_jar.name if wiremock_jar else None
        out["retry_ours_over_wiremock_p50"] = round(
            out["retry_ours_p50_ms"] / out["retry_wiremock_p50_ms"], 2
        )
    out["retry_exchanges"] = sizes.rounds * sizes.per_round
    out["retry_errors"] = errors
    return out


@contextmanager
def _maybe_wiremock(
    out: dict[str, Any],
    jar: Path | None,
    ca: CertificateAuthority,
    answers: list[tuple[int, str, bytes]],
    authorization: str,
    say: Progress,
) -> Iterator[WireMock | None]:
    if jar is None or out["retry_wiremock_status"] is not None:
        yield None
        return
    say(f"starting WireMock ({jar.name})")
    mappings = wiremock_mappings(answers[0], answers[2], authorization)
    with WireMock(jar, ca.leaf().pem, ca.bundle_path, mappings) as wiremock:
        yield wiremock


def java_version() -> str | None:
    """The first line of ``java -version``, or None without Java."""
    java = shutil.which("java")
    if java is None:
        return None
    proc = subprocess.run(
        [java, "-version"], capture_output=True, text=True, timeout=60, check=False
    )
    lines = (proc.stderr or proc.stdout).strip().splitlines()
    return lines[0] if lines else None


if __name__ == "__main__":  # a manual check: python -m harness.peers [WIREMOCK_JAR]
    jar = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    print(json.dumps(retry_exchange("quick", jar, print), indent=2))
