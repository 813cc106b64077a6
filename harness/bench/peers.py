"""Peers for ``mdm-harness bench``: the same work done by tools everyone knows, side by side.

* **nginx** (when ``nginx`` is on ``PATH``) serves the very bytes of a reference-MDM lookup
  reply as a static file over TLS with the harness CA's leaf, measured by the reference MDM
  benchmark's own load generator right after its static baseline (:func:`measure_nginx`, a
  ``static_peer`` of :func:`harness.bench.mdm.run`). nginx runs from a generated config in a
  temporary directory on a free loopback port and is stopped afterwards.
* **WireMock** standalone (a jar the user gives; Java on ``PATH``) serves "503 twice, then 200"
  as a WireMock scenario (:class:`WireMock`, :func:`wiremock_mappings`), beside ours in
  :mod:`harness.bench.retry`.

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
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness import _util
from harness.bench.loadgen import spawn, summary

if TYPE_CHECKING:
    pass

__all__ = [
    "DISCOVERY_PATH", "NGINX_KEYS", "PUBLIC", "WireMock", "java_version", "measure_nginx", "nginx",
    "wiremock_mappings",
]  # fmt: skip

Progress = Callable[[str], None]

#: Figures of the nginx peer (latencies in ms over the same requests as the static baseline).
NGINX_KEYS: dict[str, str] = {
    "nginx_version": "nginx's version (nginx -v)",
    "nginx_p50_ms": "the lookup reply's bytes as a static file from nginx over TLS, median",
    "nginx_p99_ms": "the same, 99th percentile",
    "nginx_rps": "the same, requests per second on the one connection",
    "nginx_errors": "non-200 answers from nginx (should be 0)",
}

#: The public host the harness's certificates name, and the discovery path of the exchange.
PUBLIC = "acme.jamfcloud.test"
DISCOVERY_PATH = "/networkIntegrationEndpoint/7/ciscoise/mdminfo/"

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
    from harness.tls import CertificateAuthority

    executable = shutil.which("nginx")
    if executable is None:
        raise FileNotFoundError("nginx is not on PATH")
    say = progress or (lambda message: None)
    leaf = CertificateAuthority.load_or_create(ca_dir).leaf("localhost", "127.0.0.1", "::1", PUBLIC)
    say(f"the same bytes as a static file, {len(job['paths'])} requests")
    with nginx(executable, static_dir, leaf.pem) as port:
        (result,) = spawn({**job, "target": ["127.0.0.1", port]}, strict=False)
    p50, p99, rps = summary(result)
    return {
        "nginx_version": nginx_version(executable),
        "nginx_p50_ms": p50,
        "nginx_p99_ms": p99,
        "nginx_rps": rps,
        "nginx_errors": sum(e is not None for e in result["errors"]),
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
        "urlPath": DISCOVERY_PATH,
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
