"""What a search box means at a repair desk: a ticket number (`#1234` or `1234`), a phone number written any
way a person writes one, or words of a subject or a customer's name. One string can be several of these
("2065550100" is a number and a phone): every reading that parses is searched."""

from __future__ import annotations

import re
from dataclasses import dataclass

from repairtext.domain.errors import ValidationFailed
from repairtext.domain.phones import to_e164

MAX_QUERY = 100
_PHONE_CHARS = re.compile(r"^[+\d\s().\-]+$")


@dataclass(frozen=True)
class SearchTerms:
    text: str | None              # for subject and name, matched as a case-insensitive substring
    ticket_number: int | None = None
    phone: str | None = None      # E.164


def parse_query(raw: str | None, region: str = "US") -> SearchTerms | None:
    # A NUL is in nothing stored (PostgreSQL cannot hold one, nor compare with one): it separates words, like a space.
    text = " ".join((raw or "").replace("\x00", " ").split())[:MAX_QUERY]
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
    return SearchTerms(text=text, ticket_number=number, phone=phone)


def like_pattern(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, with the user's own % and _ taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
