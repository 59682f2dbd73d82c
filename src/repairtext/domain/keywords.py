"""Carrier-standard keywords (CTIA): matched on the whole message, trimmed, case-insensitive."""

from __future__ import annotations

import enum


class Keyword(enum.StrEnum):
    STOP = "STOP"
    START = "START"
    HELP = "HELP"


_KEYWORDS = {
    **{w: Keyword.STOP for w in ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT")},
    **{w: Keyword.START for w in ("START", "UNSTOP", "YES")},
    **{w: Keyword.HELP for w in ("HELP", "INFO")},
}


def classify(body: str | None, opt_out_type: str | None = None) -> Keyword | None:
    """Twilio's advanced opt-out tells us what it matched (OptOutType); trust it over our own match."""
    if opt_out_type:
        try:
            return Keyword(opt_out_type.strip().upper())
        except ValueError:
            pass
    return _KEYWORDS.get((body or "").strip().upper())
