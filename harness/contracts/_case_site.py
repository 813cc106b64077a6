"""What every contract case needs: the :class:`Site` it runs against, and small helpers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Site:
    """What cases need to know about the harness they run in."""

    host: str
    known_mac: str
    unknown_mac: str
    #: The reference MDM's real api_path per API version.
    api_paths: Mapping[int, str]


def glob_literal(text: str) -> str:
    """``text`` as a glob that matches only itself."""
    return "".join(f"[{c}]" if c in "*?[]" else c for c in text)


def device_args(site: Site) -> tuple[str, ...]:
    return ("--mac", site.known_mac)
