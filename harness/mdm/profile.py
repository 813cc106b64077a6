"""Server profiles: what the reference MDM says about itself in discovery, and where it listens.

A :class:`Profile` is an immutable value. Two are built in:

``jamf`` (the default)
    Jamf Pro 10.48.1 as the seed TechNote shows it: an instance prefix
    ``/networkIntegrationEndpoint/<ID>`` in front of discovery, ``api_path`` ``/<ID>/ciscoise/v<N>``,
    vendor ``JAMF Software``, product ``JSS`` ``10.48.1-t1689600654``, ``query_max_size`` 1000,
    ``redirect_url`` ``https://<public host>/enroll``, no messaging.
``generic``
    No instance prefix, ``api_path`` ``/ciscoise/mdmapi/v<N>`` (Cisco's Swagger example),
    ``query_max_size`` 5000 (the protocol's default) and messaging supported.

Every field can be overridden (:meth:`Profile.replace`). Templates may use ``{instance_id}``,
``{instance}`` (the whole instance prefix), ``{version}`` (the API version an ``api_path``
serves) and ``{public_hostname}``.
"""

from __future__ import annotations

import dataclasses
import string
from dataclasses import dataclass
from typing import Any

__all__ = ["PROFILE_NAMES", "RESERVED_PREFIX", "Profile"]

#: Where the admin surface lives; no instance prefix or ``api_path`` may reach into it.
RESERVED_PREFIX = "/_harness"

#: The highest API version this server implements.
HIGHEST_API_VERSION = 3

_TEMPLATE_KEYS = frozenset({"instance_id", "instance", "version", "public_hostname"})


@dataclass(frozen=True)
class Profile:
    """What the reference MDM announces in discovery and how its paths are laid out."""

    name: str
    #: Instance identifier (Jamf's "Network Integration" ID).
    instance_id: str = "7"
    #: Template of the instance prefix in front of discovery; ``""`` for none.
    instance_prefix: str = "/networkIntegrationEndpoint/{instance_id}"
    #: Template of ``api_path``; ``{version}`` makes one path per API version.
    api_path: str = "/{instance_id}/ciscoise/v{version}"
    #: The public-looking host name a client dials through the proxy (never resolved by DNS).
    public_hostname: str = "acme.jamfcloud.test"
    #: Template of ``redirect_url`` (where users enroll).
    redirect_url: str = "https://{public_hostname}/enroll"
    #: The highest API version the server speaks (1-3); discovery answers min(this, asked).
    max_api_version: int = HIGHEST_API_VERSION
    #: Maximum devices per page.
    query_max_size: int = 1000
    #: Whether ``PUT {api_path}/sendmessage`` is served (404 otherwise).
    messaging_support: bool = False
    vendor: str = "JAMF Software"
    product_name: str = "JSS"
    product_version: str = "10.48.1-t1689600654"
    #: ``server_busy_wait_seconds`` in v3 attribute replies (a back-off hint).
    server_busy_wait_seconds: int = 0
    #: The realm in ``WWW-Authenticate``.
    realm: str = "Jamf Pro"

    def __post_init__(self) -> None:
        for name in ("max_api_version", "query_max_size", "server_busy_wait_seconds"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"{name}={value!r} is not an integer")
        if not 1 <= self.max_api_version <= HIGHEST_API_VERSION:
            raise ValueError(
                f"max_api_version={self.max_api_version!r} is not between 1 and "
                f"{HIGHEST_API_VERSION}"
            )
        if self.query_max_size < 1:
            raise ValueError(f"query_max_size={self.query_max_size!r} must be at least 1")
        if self.server_busy_wait_seconds < 0:
            raise ValueError(
                f"server_busy_wait_seconds={self.server_busy_wait_seconds!r} must not be negative"
            )
        if not isinstance(self.messaging_support, bool):
            raise ValueError(f"messaging_support={self.messaging_support!r} is not a boolean")
        if not self.instance_id or "/" in self.instance_id or "{" in self.instance_id:
            raise ValueError(f"instance_id={self.instance_id!r} must be one non-empty path segment")
        for name in ("instance_prefix", "api_path", "redirect_url"):
            _check_template(name, getattr(self, name))
        prefix = self.instance
        if prefix and (not prefix.startswith("/") or prefix.endswith("/")):
            raise ValueError(
                f"instance_prefix={self.instance_prefix!r} must start with '/' and not end with "
                "'/' (or be empty)"
            )
        discovery = prefix + "/ciscoise/mdminfo"
        for version in self.versions:
            path = self.api_path_for(version)
            if not path.startswith("/") or path.endswith("/") or "?" in path:
                raise ValueError(
                    f"api_path={self.api_path!r} gives {path!r}, which must start with '/' and "
                    "end without '/' or '?'"
                )
            if path == discovery or path.startswith(discovery + "/"):
                raise ValueError(f"api_path={self.api_path!r} overlaps discovery at {discovery}")
        for path in [prefix, *map(self.api_path_for, self.versions)]:
            if path == RESERVED_PREFIX or path.startswith(RESERVED_PREFIX + "/"):
                raise ValueError(f"{path!r} reaches into the reserved prefix {RESERVED_PREFIX}/")

    @classmethod
    def named(cls, name: str, **overrides: Any) -> Profile:
        """A built-in profile (``jamf`` or ``generic``), with ``overrides`` applied."""
        try:
            base = _BUILTIN[name]
        except KeyError:
            raise ValueError(
                f"profile={name!r} is not one of {', '.join(sorted(_BUILTIN))}"
            ) from None
        return base.replace(**overrides)

    def replace(self, **overrides: Any) -> Profile:
        """A copy with ``overrides`` (field names of this class) applied and validated."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise TypeError(
                f"unknown profile field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        return dataclasses.replace(self, **overrides) if overrides else self

    @property
    def versions(self) -> range:
        """The API versions served: 1 up to :attr:`max_api_version`."""
        return range(1, self.max_api_version + 1)

    @property
    def instance(self) -> str:
        """The instance prefix, e.g. ``/networkIntegrationEndpoint/7`` (``""`` for none)."""
        return self._fill(self.instance_prefix, version=self.max_api_version, instance="")

    def api_path_for(self, version: int) -> str:
        """The ``api_path`` discovery announces to a client speaking ``version``."""
        return self._fill(self.api_path, version=version, instance=self.instance)

    def redirect_url_value(self) -> str:
        """``redirect_url`` with its template filled in."""
        return self._fill(self.redirect_url, version=self.max_api_version, instance=self.instance)

    def _fill(self, template: str, *, version: int, instance: str) -> str:
        return template.format(
            instance_id=self.instance_id,
            instance=instance,
            version=version,
            public_hostname=self.public_hostname,
        )


def _check_template(name: str, template: str) -> None:
    try:
        fields = {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
    except ValueError as exc:
        raise ValueError(f"{name}={template!r} is not a valid template: {exc}") from None
    unknown = sorted(fields - _TEMPLATE_KEYS)
    if unknown:
        raise ValueError(
            f"{name}={template!r} uses unknown placeholder(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(_TEMPLATE_KEYS))}"
        )
    if name == "instance_prefix" and "instance" in fields:
        raise ValueError(f"{name}={template!r} cannot refer to itself ({{instance}})")


_BUILTIN: dict[str, Profile] = {
    "jamf": Profile(name="jamf"),
    "generic": Profile(
        name="generic",
        instance_prefix="",
        api_path="/ciscoise/mdmapi/v{version}",
        public_hostname="mdm.harness.test",
        query_max_size=5000,
        messaging_support=True,
        vendor="mdm-harness",
        product_name="Reference MDM",
        product_version="1.0",
        realm="Reference MDM",
    ),
}

#: Names accepted by :meth:`Profile.named` and ``--profile``.
PROFILE_NAMES: tuple[str, ...] = tuple(_BUILTIN)
