"""The server under test and the suite's options, as immutable values checked once.

:class:`Target` is where the server is and how to reach it: its base URL (with the instance
prefix, as ISE's settings hold it), credentials, the CA that verifies it (or the system store)
and ISE's own proxy, if any. :class:`Options` is how the suite treats it: the request rate cap,
the timing budget, how many lookups at once, how far to walk, which devices to query and which
(if any) an action may touch. Every bad value raises :class:`TargetError` naming the option,
for the CLI's one-line error (exit 2) and the plugin's ``UsageError``.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import urlsplit

__all__ = [
    "ACTION_TYPES",
    "DEFAULT_BUDGET_MS",
    "DEFAULT_CONCURRENCY",
    "DEFAULT_MAX_PAGES",
    "DEFAULT_RATE",
    "PROFILE_EXAMPLES",
    "DeviceSpec",
    "Options",
    "Target",
    "TargetError",
    "system_ca_bundle",
]

#: Requests per second across the whole run (every worker together).
DEFAULT_RATE = 5.0
#: ISE's MDM/UEM Device Compliance Timeout in the seed (30000 ms).
DEFAULT_BUDGET_MS = 30_000
DEFAULT_CONCURRENCY = 4
#: Pages a walk of the non-compliant listing may take (1000 per page: 100 000 devices).
DEFAULT_MAX_PAGES = 100
#: Hostile query values drawn per profile.
PROFILE_EXAMPLES = {"quick": 4, "standard": 10, "thorough": 50}
ACTION_TYPES = ("pin_lock", "corporate_wipe", "full_wipe")


_DEVICE_KEYS = {
    "mac": "macaddress",
    "macaddress": "macaddress",
    "guid": "guid",
    "username": "username",
    "hostname": "hostname",
    "udid": "udid",
    "imei": "imei",
    "meid": "meid",
}


class TargetError(ValueError):
    """A bad option: the message starts with the option's name."""


def _mac(value: str, option: str) -> str:
    from .documents import mac_or_none

    mac = mac_or_none(value)
    if mac is None:
        raise TargetError(
            f"{option}: {value!r} is not a MAC address (12 hex digits, any separators)"
        )
    return mac


@dataclass(frozen=True)
class DeviceSpec:
    """A device the user names: ``mac=..,guid=..,username=..,hostname=..,udid=..,imei=..,meid=..``
    (at least ``mac`` or ``guid``)."""

    macaddress: str | None = None
    guid: str | None = None
    username: str | None = None
    hostname: str | None = None
    udid: str | None = None
    imei: str | None = None
    meid: str | None = None

    @classmethod
    def parse(cls, text: str, option: str = "--device") -> DeviceSpec:
        values: dict[str, str] = {}
        for part in text.split(","):
            key, sep, value = part.partition("=")
            key, value = key.strip().lower(), value.strip()
            name = _DEVICE_KEYS.get(key)
            if not sep or name is None:
                raise TargetError(
                    f"{option} {text!r}: expected KEY=VALUE pairs separated by commas, KEY one of "
                    "mac, guid, username, hostname, udid, imei, meid"
                )
            if not value:
                raise TargetError(f"{option} {text!r}: {key}= is empty")
            if name in values:
                raise TargetError(f"{option} {text!r}: {key} is given twice")
            values[name] = _mac(value, option) if name == "macaddress" else value
        if "macaddress" not in values and "guid" not in values:
            raise TargetError(f"{option} {text!r}: name the device by mac= or guid=")
        return cls(**values)

    def to_text(self) -> str:
        short = {"macaddress": "mac"}
        return ",".join(
            f"{short.get(f.name, f.name)}={getattr(self, f.name)}"
            for f in fields(self)
            if getattr(self, f.name) is not None
        )


def system_ca_bundle() -> Path:
    """The system's CA bundle as OpenSSL was built to find it (never ``SSL_CERT_FILE`` and the
    like: the environment does not choose whom the harness trusts); certifi's as a fallback."""
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.openssl_cafile,):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    import certifi

    return Path(certifi.where())


@dataclass(frozen=True)
class Target:
    """The MDM server under test."""

    #: The base URL with the instance prefix, no trailing slash (what ISE's MDM settings hold).
    url: str
    username: str
    password: str = field(repr=False)
    #: The CA bundle that verifies the server; ``None``: the system store.
    ca: Path | None = None
    #: ISE's proxy (``http://host:port``) the requests go through, after the harness's own.
    proxy: str | None = None

    @classmethod
    def checked(
        cls,
        url: str | None,
        username: str | None,
        password: str | None,
        *,
        ca: str | Path | None = None,
        proxy: str | None = None,
    ) -> Target:
        """A :class:`Target` from raw option values, or :class:`TargetError`."""
        if not url:
            raise TargetError(
                "URL: the server's base URL is required (https://host[:port][/instance])"
            )
        parts = urlsplit(url)
        if parts.scheme != "https":
            raise TargetError(f"URL {url!r}: ISE talks to an MDM over https only")
        if not parts.hostname:
            raise TargetError(f"URL {url!r}: no host")
        try:
            _ = parts.port
        except ValueError as exc:
            raise TargetError(f"URL {url!r}: {exc}") from None
        if parts.query or parts.fragment:
            raise TargetError(f"URL {url!r}: give the base URL without a query or fragment")
        if not username or ":" in username:
            raise TargetError("--username: required, without ':' (or set MDM_USERNAME)")
        if not password:
            raise TargetError("--password: required (or set MDM_PASSWORD)")
        # Absolute: the proxy and the suite's workers that read it run in other directories.
        ca_path = Path(ca).absolute() if ca is not None else None
        if ca_path is not None:
            try:
                ssl.create_default_context(cafile=str(ca_path))
            except (OSError, ssl.SSLError) as exc:
                raise TargetError(
                    f"--ca {str(ca_path)!r}: not a readable PEM bundle ({exc})"
                ) from None
        if proxy is not None:
            p = urlsplit(proxy)
            if p.scheme != "http" or not p.hostname or p.path not in ("", "/") or p.query:
                raise TargetError(f"--proxy {proxy!r}: expected http://host:port")
            try:
                if p.port is None:
                    raise TargetError(f"--proxy {proxy!r}: give the port (ISE's proxy, e.g. :3128)")
            except ValueError as exc:
                raise TargetError(f"--proxy {proxy!r}: {exc}") from None
        return cls(
            url.rstrip("/"), username, password, ca_path, proxy.rstrip("/") if proxy else None
        )

    @property
    def origin(self) -> str:
        """``https://host:port`` (the port always written)."""
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        host = f"[{host}]" if ":" in host else host
        return f"{parts.scheme}://{host}:{parts.port or 443}"

    @property
    def instance(self) -> str:
        """The instance prefix: the URL's path (``""`` for none)."""
        return urlsplit(self.url).path.rstrip("/")

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    def upstream_ca(self) -> Path:
        """The bundle the harness's proxy verifies the server with."""
        return self.ca if self.ca is not None else system_ca_bundle()

    def describe(self) -> str:
        via = f" via {self.proxy}" if self.proxy else ""
        trust = str(self.ca) if self.ca else "the system store"
        return f"{self.url} as {self.username}{via}, trusting {trust}"


@dataclass(frozen=True)
class Options:
    """How the suite treats the server (see ``docs/servers.md``)."""

    rate: float = DEFAULT_RATE
    budget_ms: int = DEFAULT_BUDGET_MS
    concurrency: int = DEFAULT_CONCURRENCY
    max_pages: int = DEFAULT_MAX_PAGES
    profile: str = "standard"
    seed: int = 0
    devices: tuple[DeviceSpec, ...] = ()
    allow_actions: bool = False
    action_devices: tuple[DeviceSpec, ...] = ()
    action: str = "pin_lock"
    #: The longest the walk waits for a server_busy_wait_seconds hint between pages.
    busy_wait_cap_s: float = 2.0

    def __post_init__(self) -> None:
        if not (isinstance(self.rate, (int, float)) and self.rate >= 0):
            raise TargetError(f"--rate {self.rate!r}: requests per second, 0 or more (0: no cap)")
        if not 1 <= self.budget_ms <= 600_000:
            raise TargetError(f"--budget-ms {self.budget_ms!r}: 1..600000 milliseconds")
        if not 1 <= self.concurrency <= 64:
            raise TargetError(f"--concurrency {self.concurrency!r}: 1..64 lookups at once")
        if not 1 <= self.max_pages <= 100_000:
            raise TargetError(f"--max-pages {self.max_pages!r}: 1..100000")
        if self.profile not in PROFILE_EXAMPLES:
            raise TargetError(f"--profile {self.profile!r}: one of {', '.join(PROFILE_EXAMPLES)}")
        if self.action not in ACTION_TYPES:
            raise TargetError(f"--action {self.action!r}: one of {', '.join(ACTION_TYPES)}")
        if self.action_devices and not self.allow_actions:
            raise TargetError("--action-device: actions need --allow-actions as well")
        if self.allow_actions and not self.action_devices:
            raise TargetError(
                "--allow-actions: name the devices an action may touch with --action-device"
            )

    @property
    def examples(self) -> int:
        """Hostile query values drawn (X3)."""
        return PROFILE_EXAMPLES[self.profile]

    @property
    def budget_s(self) -> float:
        return self.budget_ms / 1000

    @property
    def wait_s(self) -> float:
        """How long the harness waits for any one answer: the budget, and then some, so that a
        late answer is measured (B1) rather than cut off."""
        return self.budget_s + max(5.0, self.budget_s / 2)
