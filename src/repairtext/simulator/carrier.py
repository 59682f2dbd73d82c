"""Rules the providers apply on their side, as the simulator plays them: segments, keywords, countries.

Keywords and countries are kept apart from repairtext.domain on purpose: they are the provider's view of the
world, and a fake that shared the app's rules would agree with the app's mistakes instead of catching them.
Segments are the exception: repairtext.domain.segments is a port of Twilio's own calculator, i.e. already
Twilio's view.
"""

from __future__ import annotations

import re

from repairtext.domain import segments

E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def count_segments(text: str) -> int:
    """Twilio's count (num_segments): the app's segmenter follows Twilio's own calculator exactly, so the
    simulator reports what Twilio would rather than keep a second, rougher segmenter."""
    return segments.count_segments(text).segments


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
