"""Phone numbers: parsed with libphonenumber, kept in E.164, typed by what the shop recorded.

In the North American numbering plan a number cannot tell mobile from landline (FIXED_LINE_OR_MOBILE), so
whether a customer can be texted depends on the *type* the shop gave the phone, not on the number.
"""

from __future__ import annotations

import enum

import phonenumbers

from repairtext.domain.errors import ValidationFailed

# MMS is carried only between US and Canadian numbers (providers.md, carrier rules). libphonenumber gives the
# US territories on US carriers (Puerto Rico, the US Virgin Islands) regions of their own; they are US numbers.
MMS_REGIONS = frozenset({"US", "CA", "PR", "VI"})


class PhoneType(enum.StrEnum):
    MOBILE = "mobile"
    HOME = "home"
    WORK = "work"
    OTHER = "other"


def parse_phone_type(value: str, field: str) -> PhoneType:
    try:
        return PhoneType(value)
    except ValueError:
        allowed = ", ".join(t.value for t in PhoneType)
        raise ValidationFailed.on(field, f"unknown phone type {value!r}; use one of {allowed}") from None


def to_e164(raw: str, default_region: str, field: str) -> str:
    """Normalize what a person or a provider typed ("(206) 555-0100", "12065550100", "+1 206…") to E.164."""
    text = (raw or "").strip()
    if not text:
        raise ValidationFailed.on(field, "a phone number is required")
    if text.isdigit() and len(text) == 11 and text.startswith("1"):
        text = "+" + text  # Flowroute's 11-digit North American form carries no '+'
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException:
        raise ValidationFailed.on(field, f"{raw!r} is not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationFailed.on(field, f"{raw!r} is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def region_of(e164: str) -> str | None:
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return None


def supports_mms(e164: str) -> bool:
    return region_of(e164) in MMS_REGIONS


def display(e164: str) -> str:
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


def readable(e164: str, home_region: str) -> str:
    """A number as a person at the shop writes it: national ("(206) 555-0134") when it is of the shop's own
    country, international ("+44 20 7946 0018") otherwise, so a foreign sender is never mistaken for a local
    one. A sender that is no phone number (a short code) is shown as it came."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    if not phonenumbers.is_valid_number(number):
        return e164
    local = phonenumbers.region_code_for_number(number) == home_region
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL if local
                                      else phonenumbers.PhoneNumberFormat.INTERNATIONAL)
