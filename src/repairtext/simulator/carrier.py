"""Rules the providers apply on their side, as the simulator plays them: segments, keywords, countries.

Kept apart from repairtext.domain on purpose: this is the provider's view of the world, and a fake that shared
the app's rules would agree with the app's mistakes instead of catching them. "Simply" is enough here: the
segment count ignores grapheme clusters (the app's own segmenter is the one that must match Twilio exactly).
"""

from __future__ import annotations

import re

E164 = re.compile(r"^\+[1-9]\d{6,14}$")

_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION = frozenset("^{}\\[]~|€\f")  # each costs an escape septet too


def count_segments(text: str) -> int:
    """GSM-7: 160 septets alone, 153 a part; otherwise UCS-2: 70 code units alone, 67 a part. An escape pair or
    a surrogate pair is never split across parts."""
    if all(c in _GSM_BASIC or c in _GSM_EXTENSION for c in text):
        units, single, part = [2 if c in _GSM_EXTENSION else 1 for c in text], 160, 153
    else:
        units, single, part = [len(c.encode("utf-16-le")) // 2 for c in text], 70, 67
    if sum(units) <= single:
        return 1
    parts, used = 1, 0
    for unit in units:
        if used + unit > part:
            parts, used = parts + 1, 0
        used += unit
    return parts


# Twilio's advanced opt-out keywords (providers.md, carrier rules): whole message, trimmed, any case.
_OPT_OUT_TYPES = {
    **dict.fromkeys(("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"), "STOP"),
    **dict.fromkeys(("START", "UNSTOP", "YES"), "START"),
    **dict.fromkeys(("HELP", "INFO"), "HELP"),
}


def opt_out_type(body: str | None) -> str | None:
    return _OPT_OUT_TYPES.get((body or "").strip().upper())


# Enough calling codes for demo data; Twilio sends the ISO country of the sender as FromCountry.
_COUNTRIES = {"1": "US", "44": "GB", "61": "AU", "49": "DE", "33": "FR", "52": "MX", "34": "ES", "39": "IT"}


def country_of(e164: str) -> str:
    digits = e164.lstrip("+")
    for length in (3, 2, 1):
        if digits[:length] in _COUNTRIES:
            return _COUNTRIES[digits[:length]]
    return ""


def is_north_american(e164: str) -> bool:
    """MMS goes only to US and Canadian numbers; the simulator takes all of +1 for them."""
    return e164.startswith("+1")
