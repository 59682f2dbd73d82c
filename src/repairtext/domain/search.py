"""What a search box means at a repair desk: a ticket number (`#1234` or `1234`), a phone number written any
way a person writes one, the last digits of one ("0134", "555-0134": what a customer reads out), or words of a
subject or a customer's name. One string can be several of these ("0134" is a ticket number, a phone's tail and
text): every reading that parses is searched."""

from __future__ import annotations

import re
from dataclasses import dataclass

from repairtext.domain.errors import ValidationFailed
from repairtext.domain.phones import to_e164

MAX_QUERY = 100
PHONE_TAIL = (4, 9)  # digits: fewer is a ticket number; 10 or more is a whole phone number
_PHONE_CHARS = re.compile(r"^[+\d\s().\-]+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class SearchTerms:
    text: str | None              # for subject and name, matched as a case-insensitive substring
    ticket_number: int | None = None
    phone: str | None = None      # E.164
    phone_tail: str | None = None  # digits a phone number ends with


def parse_query(raw: str | None, region: str = "US") -> SearchTerms | None:
    # Control characters (a NUL from "%00") are in no name or subject, and PostgreSQL refuses a NUL outright.
    text = " ".join(_CONTROL.sub(" ", raw or "").split())[:MAX_QUERY]
    if not text:
        return None
    bare = text.removeprefix("#").strip()
    number = int(bare) if bare.isascii() and bare.isdigit() and len(bare) <= 9 else None  # "²" is a digit too
    phone = None
    digits = re.sub(r"\D", "", text)
    if _PHONE_CHARS.match(text) and 7 <= len(digits) <= 15:
        try:
            phone = to_e164(text, region, "q")
        except ValidationFailed:
            phone = None
    if text.startswith("#") and number is not None:
        return SearchTerms(text=None, ticket_number=number)  # "#1234" names a ticket, nothing else
    if phone is not None and len(digits) >= 10:
        return SearchTerms(text=None, phone=phone)  # a whole phone number is that phone, not words of a subject
    low, high = PHONE_TAIL
    tail = digits if _PHONE_CHARS.match(text) and "+" not in text and low <= len(digits) <= high else None
    return SearchTerms(text=text, ticket_number=number, phone=phone, phone_tail=tail)


def like_pattern(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, with the user's own % and _ taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
