"""Realistic, seeded device inventories (``--devices N --seed S``).

The mix resembles a company fleet: Apple iPhones, iPads and Macs, Samsung and Google Android
phones and tablets, Microsoft Surface and Dell Windows laptops. Each device gets MACs under its
vendor's real OUIs or a locally administered ("private Wi-Fi") address, an RFC 4122 version 4
GUID, a serial number in its vendor's shape, an Apple-shaped UDID (Apple devices), an IMEI
with a valid Luhn check digit and the matching MEID (phones and cellular tablets), a phone
number in the fictional +1 555 range, a user and host name, and a check-in time in the last
weeks. About ``noncompliant_ratio`` of the devices are non-compliant, with a reason and
remediation text that fit the device (and attributes that agree: a jailbroken device says
``jail_broken``); some texts contain ``&`` and ``<``, as real ones do.

The output depends only on ``n``, ``seed`` and ``now_ms``. 100 000 devices take about a
second.

Over 400 lines: most of it is data (vendors' OUIs, models, OS versions, reasons that fit a
device), which reads best next to the few functions that draw from it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

from harness.mdm.inventory import Device

__all__ = ["generate_devices", "luhn_digit"]

T = TypeVar("T")

_DAY_MS = 86_400_000
_ALNUM = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"  # no I or O, as in Apple and Dell serials
_DIGITS = "0123456789"
#: Two-character blocks, so a serial number costs a few table look-ups instead of k draws.
_ALNUM_PAIRS = tuple(a + b for a in _ALNUM for b in _ALNUM)
_DIGIT_PAIRS = tuple(f"{i:02d}" for i in range(100))
_LUHN_DOUBLE = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)

_FIRST = (
    "alice",
    "bob",
    "carol",
    "dave",
    "erin",
    "frank",
    "grace",
    "heidi",
    "ivan",
    "judy",
    "kim",
    "liam",
    "mia",
    "noah",
    "olga",
    "pablo",
    "quinn",
    "rosa",
    "sam",
    "tara",
    "uma",
    "victor",
    "wendy",
    "xavier",
    "yara",
    "zoe",
    "amir",
    "bea",
    "chen",
    "dmitri",
    "elif",
    "fatima",
    "goran",
    "hana",
    "ines",
    "jonas",
    "kofi",
    "lena",
    "mateo",
    "nadia",
)
_LAST = (
    "nguyen",
    "smith",
    "garcia",
    "mueller",
    "rossi",
    "kowalski",
    "tanaka",
    "okafor",
    "johansson",
    "dubois",
    "silva",
    "kim",
    "patel",
    "novak",
    "haddad",
    "jensen",
    "murphy",
    "costa",
    "fischer",
    "ivanova",
    "larsen",
    "moreau",
    "ortiz",
    "petrov",
    "quispe",
    "reyes",
    "sato",
    "torres",
    "walsh",
    "yilmaz",
)


@dataclass(frozen=True)
class _Reason:
    failure_reason: str
    remediation: str
    effect: str = ""  # which attribute the reason implies: pin, jail, disk, stale, unregistered


_COMMON_REASONS = (
    _Reason(
        "Last inventory update > 14 days ago", "Open Self Service & run Update Inventory.", "stale"
    ),
    _Reason(
        "Required app <Company Portal> missing", "Install <Company Portal> from Self Service.", ""
    ),
    _Reason(
        "MDM profile removed by user",
        "Re-enroll the device at the enrollment page.",
        "unregistered",
    ),
)
_IOS_REASONS = (
    _Reason(
        "Passcode not set",
        "Set a passcode of at least 6 digits in Settings > Face ID & Passcode.",
        "pin",
    ),
    _Reason(
        "OS version < 17.0 (minimum)", "Update iOS in Settings > General > Software Update.", ""
    ),
    _Reason("Device is jailbroken", "Contact IT: restore & re-enroll the device.", "jail"),
)
_MAC_REASONS = (
    _Reason(
        "FileVault disk encryption is off",
        "Turn on FileVault in System Settings > Privacy & Security.",
        "disk",
    ),
    _Reason("macOS < 14.0 & Gatekeeper disabled", "Update macOS and re-enable Gatekeeper.", ""),
    _Reason(
        "Screen lock password not set", "Set a login password and require it after sleep.", "pin"
    ),
)
_ANDROID_REASONS = (
    _Reason("Device is rooted", "Contact IT: factory-reset & re-enroll the device.", "jail"),
    _Reason("Security patch level < 2024-01-01", "Install the latest system update.", ""),
    _Reason(
        "Screen lock not set & storage not encrypted",
        "Set a PIN; Android then encrypts storage.",
        "pin",
    ),
)
_WINDOWS_REASONS = (
    _Reason(
        "BitLocker off & TPM version < 2.0",
        "Turn on BitLocker in Settings > Privacy & security.",
        "disk",
    ),
    _Reason(
        "Microsoft Defender real-time protection off", "Turn real-time protection back on.", ""
    ),
    _Reason("OS build < 22631 & pending reboot", "Install pending updates and restart.", ""),
)


@dataclass(frozen=True)
class _Family:
    weight: int
    manufacturer: str
    models: tuple[str, ...]
    os_versions: tuple[str, ...]
    ouis: tuple[int, ...]
    kind: str  # phone, tablet, mac, pc
    serial: str  # apple, samsung, google, microsoft, dell
    reasons: tuple[_Reason, ...]
    udid_chips: tuple[str, ...] = ()  # Apple mobile: the chip prefix of the UDID
    tacs: tuple[str, ...] = ()  # IMEI type allocation codes
    cellular: float = 0.0  # share of devices with an IMEI
    private_mac: float = 0.0  # share using a locally administered (private) MAC
    macs: tuple[int, int] = (1, 1)  # min, max number of MACs


_FAMILIES = (
    _Family(
        34,
        "Apple Inc.",
        (
            "iPhone 12",
            "iPhone 13",
            "iPhone 14",
            "iPhone 14 Pro",
            "iPhone 15",
            "iPhone 15 Pro Max",
            "iPhone SE (3rd generation)",
        ),
        ("iOS 16.7.8", "iOS 17.4.1", "iOS 17.5.1", "iOS 17.6.1", "iOS 18.0.1"),
        (0xF01898, 0x3C22FB, 0xA483E7, 0xBC5436, 0xDC2B2A),
        "phone",
        "apple",
        _IOS_REASONS + _COMMON_REASONS,
        udid_chips=("00008101", "00008110", "00008120", "00008130"),
        tacs=("35325811", "35391110", "35467811", "35678912", "35188812"),
        cellular=1.0,
        private_mac=0.35,
    ),
    _Family(
        10,
        "Apple Inc.",
        (
            "iPad (9th generation)",
            "iPad (10th generation)",
            "iPad Air (5th generation)",
            "iPad Pro 11-inch (4th generation)",
            "iPad mini (6th generation)",
        ),
        ("iPadOS 16.7.8", "iPadOS 17.5.1", "iPadOS 17.6.1", "iPadOS 18.0"),
        (0xF01898, 0x3C22FB, 0x28CFE9),
        "tablet",
        "apple",
        _IOS_REASONS + _COMMON_REASONS,
        udid_chips=("00008030", "00008101", "00008103", "00008110"),
        tacs=("35346211", "35877410"),
        cellular=0.4,
        private_mac=0.2,
    ),
    _Family(
        18,
        "Apple Inc.",
        (
            "MacBook Air (M2, 2022)",
            "MacBook Air (15-inch, M3, 2024)",
            "MacBook Pro (14-inch, 2023)",
            "MacBook Pro (16-inch, 2021)",
            "iMac (24-inch, M3, 2023)",
            "Mac mini (2023)",
        ),
        ("macOS 13.6.7", "macOS 14.4.1", "macOS 14.5", "macOS 14.6.1", "macOS 15.0.1"),
        (0xF01898, 0xA483E7, 0x14109F, 0x8C8590),
        "mac",
        "apple",
        _MAC_REASONS + _COMMON_REASONS,
        macs=(1, 3),
    ),
    _Family(
        13,
        "samsung",
        (
            "SM-S911B (Galaxy S23)",
            "SM-A546B (Galaxy A54 5G)",
            "SM-S928B (Galaxy S24 Ultra)",
            "SM-X710 (Galaxy Tab S9)",
            "SM-G991B (Galaxy S21)",
        ),
        ("Android 13", "Android 14", "Android 14 (One UI 6.1)"),
        (0x8CF5A3, 0x5C497D, 0xE8508B, 0xA02195),
        "phone",
        "samsung",
        _ANDROID_REASONS + _COMMON_REASONS,
        tacs=("35332311", "35904611", "35174274"),
        cellular=0.9,
        private_mac=0.5,
    ),
    _Family(
        6,
        "Google",
        ("Pixel 7", "Pixel 7a", "Pixel 8", "Pixel 8 Pro", "Pixel Tablet"),
        ("Android 14", "Android 15"),
        (0x3C5AB4, 0xF88FCA, 0x001A11),
        "phone",
        "google",
        _ANDROID_REASONS + _COMMON_REASONS,
        tacs=("35543813", "35195176"),
        cellular=0.85,
        private_mac=0.6,
    ),
    _Family(
        11,
        "Microsoft Corporation",
        ("Surface Pro 9", "Surface Laptop 5", "Surface Laptop Go 3", "Surface Pro 10 for Business"),
        (
            "Windows 11 23H2 (22631.3880)",
            "Windows 11 22H2 (22621.3737)",
            "Windows 10 22H2 (19045.4651)",
        ),
        (0x7C1E52, 0x985FD3, 0x281878, 0xC49DED),
        "pc",
        "microsoft",
        _WINDOWS_REASONS + _COMMON_REASONS,
        cellular=0.05,
        tacs=("35882810",),
        macs=(1, 2),
    ),
    _Family(
        8,
        "Dell Inc.",
        ("Latitude 7440", "Latitude 5540", "XPS 13 9340", "Precision 5680"),
        ("Windows 11 23H2 (22631.3880)", "Windows 11 22H2 (22621.3737)"),
        (0xF8BC12, 0x847BEB, 0xB07B25, 0x14B31F),
        "pc",
        "dell",
        _WINDOWS_REASONS + _COMMON_REASONS,
        macs=(1, 3),
    ),
)


def luhn_digit(digits: str) -> str:
    """The Luhn check digit for ``digits`` (an IMEI's 15th digit for its first 14)."""
    doubled = sum(_LUHN_DOUBLE[ord(ch) - 48] for ch in digits[::-1][::2])
    plain = sum(ord(ch) - 48 for ch in digits[::-1][1::2])
    return str(-(doubled + plain) % 10)


def generate_devices(
    n: int, seed: int = 7, *, noncompliant_ratio: float = 0.2, now_ms: int | None = None
) -> Iterator[Device]:
    """Yield ``n`` devices, deterministic for (``n``, ``seed``, ``now_ms``); see the module doc."""
    if not isinstance(n, int) or n < 0:
        raise ValueError(f"n={n!r} must be a non-negative integer")
    if not 0.0 <= noncompliant_ratio <= 1.0:
        raise ValueError(f"noncompliant_ratio={noncompliant_ratio!r} is not between 0 and 1")
    rng = random.Random(seed)
    now = int(time.time() * 1000) if now_ms is None else now_ms
    wheel = [f for f in _FAMILIES for _ in range(f.weight)]
    users = max(1, int(n / 1.6))
    used_macs: set[str] = set()
    used_hosts: set[str] = set()
    used_imeis: set[str] = set()
    rand, getbits = rng.random, rng.getrandbits

    def choice(seq: Sequence[T]) -> T:
        return seq[int(rand() * len(seq))]

    for _ in range(n):
        family = wheel[int(rand() * len(wheel))]
        user_index = int(rand() * users)
        first = _FIRST[user_index % len(_FIRST)]
        last = _LAST[(user_index // len(_FIRST)) % len(_LAST)]
        suffix = user_index // (len(_FIRST) * len(_LAST))
        username = f"{first}.{last}{suffix or ''}"

        low, high = family.macs
        count = low + int(rand() * (high - low + 1))
        macs: list[str] = []
        while len(macs) < count:
            if not macs and rand() < family.private_mac:
                value = (getbits(48) & ~(0x01 << 40)) | (
                    0x02 << 40
                )  # unicast, locally administered
            else:
                value = (choice(family.ouis) << 24) | getbits(24)
            mac = f"{value:012X}"
            if mac not in used_macs:
                used_macs.add(mac)
                macs.append(mac)

        bits = getbits(128)
        bits = (bits & ~(0xF << 76)) | (0x4 << 76)
        bits = (bits & ~(0x3 << 62)) | (0x2 << 62)
        h = f"{bits:032x}"
        guid = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

        model = choice(family.models)
        host = _hostname(family, first, last, model, h)
        while host in used_hosts:
            host = f"{host}-{getbits(16):04x}"
        used_hosts.add(host)

        imei = meid = phone = None
        if family.cellular and rand() < family.cellular:
            while True:
                body = choice(family.tacs) + f"{getbits(20) % 1_000_000:06d}"
                imei = body + luhn_digit(body)
                if imei not in used_imeis:
                    used_imeis.add(imei)
                    break
            meid = body  # a dual-mode device's MEID is its IMEI's first 14 digits
            if family.kind == "phone":
                phone = f"+1555{getbits(24) % 10_000_000:07d}"

        udid = None
        if family.udid_chips:
            udid = f"{choice(family.udid_chips)}-{getbits(64):016X}"
        elif family.kind == "mac":
            udid = guid.upper() if rand() < 0.5 else f"00008112-{getbits(64):016X}"

        checkin = now - int(rng.expovariate(1 / (6 * 3_600_000)))
        compliant = rand() >= noncompliant_ratio
        reason = remediation = None
        register = pin = disk = True
        jail = False
        if not compliant:
            why = choice(family.reasons)
            reason, remediation = why.failure_reason, why.remediation
            if why.effect == "pin":
                pin = False
            elif why.effect == "jail":
                jail = True
            elif why.effect == "disk":
                disk = False
            elif why.effect == "stale":
                checkin = now - (15 + int(rand() * 45)) * _DAY_MS
            elif why.effect == "unregistered":
                register = False

        yield Device(
            macaddress=macs[0],
            guid=guid,
            macaddresses=tuple(macs),
            hostname=host,
            username=username,
            register_status=register,
            compliant=compliant,
            failure_reason=reason,
            remediation=remediation,
            disk_encryption_on=disk,
            pin_lock_on=pin,
            jail_broken=jail,
            manufacturer=family.manufacturer,
            model=model,
            os_version=choice(family.os_versions),
            serial_number=_serial(family.serial, getbits(64)),
            udid=udid,
            imei=imei,
            meid=meid,
            phone_number=phone,
            last_checkin_ms=max(0, checkin),
        )


def _hostname(family: _Family, first: str, last: str, model: str, guid_hex: str) -> str:
    tag = guid_hex[-4:]
    if family.kind == "pc":
        return f"LT-{last[:6].upper()}-{guid_hex[-6:].upper()}"
    if family.kind == "mac":
        short = "mbp" if "Pro" in model else "mba" if "Air" in model else "mac"
        return f"{first}-{last}-{short}-{tag}"
    product = (
        model.split("(")[-1].rstrip(")") if "(" in model and family.serial != "apple" else model
    )
    slug = product.lower().replace(" ", "-").replace("(", "").replace(")", "")
    return f"{first}-{slug}-{tag}"


def _serial(style: str, bits: int) -> str:
    """A serial number in the vendor's shape, from 64 random bits."""
    pairs, n = _ALNUM_PAIRS, len(_ALNUM_PAIRS)
    a, b, c, d = (bits >> 11) % n, (bits >> 22) % n, (bits >> 33) % n, (bits >> 44) % n
    if style == "apple":
        return pairs[bits % n] + pairs[a] + pairs[b] + pairs[c] + pairs[d]
    if style == "samsung":
        return "R5" + pairs[bits % n] + pairs[a] + pairs[b] + pairs[c] + _ALNUM[d % 34]
    if style == "google":
        return (
            _DIGIT_PAIRS[bits % 100] + pairs[a] + pairs[b] + pairs[c] + pairs[d] + pairs[bits >> 55]
        )
    if style == "microsoft":
        return f"{bits % 10**12:012d}"
    return pairs[bits % n] + pairs[a] + pairs[b] + _ALNUM[c % 34]  # a Dell service tag
