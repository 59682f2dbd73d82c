"""The one place that decides who may be texted, with a reason a person can act on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Recipient:
    name: str
    sms_enabled: bool
    opted_out_at: datetime | None
    mobile_numbers: tuple[str, ...]
    other_phone_types: tuple[str, ...] = ()
    opted_out_by_carrier: bool = False   # the carrier refused a text (Twilio 21610) rather than a STOP reaching us


@dataclass(frozen=True)
class Refusal:
    code: str
    reason: str


def check_can_text(recipient: Recipient, *, provider_ready: bool, provider_problem: str = "") -> Refusal | None:
    """None when the recipient may be texted, else why not. Credits are checked where they are debited."""
    name = recipient.name or "This customer"
    if not recipient.sms_enabled:
        return Refusal("sms_disabled", f"SMS is turned off for {name}")
    if recipient.opted_out_at is not None:
        when = recipient.opted_out_at.date().isoformat()
        said = f"the carrier reported on {when} that {name} replied STOP" if recipient.opted_out_by_carrier \
            else f"{name} replied STOP on {when}"
        return Refusal("opted_out", f"{said}; they must text START to receive texts again")
    if not recipient.mobile_numbers:
        if recipient.other_phone_types:
            kinds = ", ".join(sorted(set(recipient.other_phone_types)))
            return Refusal("no_mobile", f"{name} has no phone typed mobile (only {kinds}); mark a phone as mobile")
        return Refusal("no_mobile", f"{name} has no mobile phone on record")
    if not provider_ready:
        return Refusal("provider_not_configured", provider_problem or "the shop's SMS provider is not set up")
    return None
