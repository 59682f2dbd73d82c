"""What the simulator remembers: plain records, kept by SimulatorState and changed only through it."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime

TWILIO = "twilio"
FLOWROUTE = "flowroute"
PROVIDERS = (TWILIO, FLOWROUTE)

# Twilio's final statuses; like the real service, the simulator never moves a message back out of one.
FINAL_STATUSES = frozenset({"delivered", "undelivered", "failed", "canceled", "read"})
# Until it leaves these, a Twilio message has no date_sent (and DateSent filters cannot see it).
NOT_SENT_YET = frozenset({"queued", "accepted", "scheduled", "canceled"})


def new_id(prefix: str) -> str:
    """Twilio sids are a two-letter type + 32 hex digits; Flowroute MDR ids are "mdr2-" + 32 hex digits."""
    return prefix + secrets.token_hex(16)


def utcnow() -> datetime:
    return datetime.now(UTC)


LOOKUP_FAULT = "slow_lookup"


@dataclass
class SimMessage:
    """One message a provider accepted (outbound) or received for the account (inbound)."""

    provider: str
    id: str
    account: str  # Twilio AccountSid, or the Flowroute access key that sent it
    from_: str
    to: str
    body: str
    media_urls: list[str]
    status_callback: str | None
    num_segments: int
    status: str
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    error_code: int | None = None
    api_base: str = ""  # the simulator's URL as the sender called it, for links in records and DLRs
    direction: str = "outbound"  # or "inbound"
    sent_at: datetime | None = None  # Twilio's date_sent: null while queued
    history: list[tuple[str, int | None, datetime]] = field(default_factory=list)  # every status reported

    def public(self) -> dict:
        return {
            "provider": self.provider,
            "id": self.id,
            "from": self.from_,
            "to": self.to,
            "body": self.body,
            "media_urls": list(self.media_urls),
            "status_callback": self.status_callback,
            "created_at": self.created_at.isoformat(),
            "status": self.status,
            "error_code": self.error_code,
            "num_segments": self.num_segments,
        }


@dataclass
class MediaItem:
    """An attachment of a simulated inbound message, served until reset."""

    provider: str
    id: str
    message_id: str
    content_type: str
    data: bytes
    file_name: str
    fail_first: int = 0  # answer 404 this many more times (Twilio media are often not ready at once)


@dataclass
class Fault:
    """The next `count` send requests (look-ups, for LOOKUP_FAULT) to `provider` fail as `kind` says (see the
    package docstring)."""

    provider: str
    kind: str
    count: int = 1
    status: int | None = None  # http_status: the status to answer; twilio_error: 400 unless given
    code: int | None = None
    retry_after: float | str | None = None  # seconds, or an HTTP-date sent verbatim
    delay: float = 0.0
    on: str = "send"  # which requests suffer it: send, list, fetch, or callback (drop_callbacks)
    skip: int = 0  # let this many such requests through first (fail a look-up on its second page)


@dataclass(frozen=True)
class TwilioNumber:
    number: str
    sms_url: str | None = None
    line_type: str = "mobile"


@dataclass(frozen=True)
class FlowrouteAccount:
    access_key: str
    secret_key: str
    numbers: frozenset[str]
    sms_callback_url: str | None = None
    dlr_callback_url: str | None = None  # used when a send names no dlr_callback


@dataclass(frozen=True)
class CallbackRecord:
    """One request the simulator made to the app: a status callback, a DLR or an inbound webhook."""

    kind: str  # "status" | "dlr" | "inbound"
    provider: str
    message_id: str
    url: str
    status: str | None
    payload: dict
    http_status: int | None  # None when no answer came (connection refused, timeout)
    attempts: int
    error: str | None = None
    response_body: str = ""
    at: datetime = field(default_factory=utcnow)

    def public(self) -> dict:
        return {
            "kind": self.kind,
            "provider": self.provider,
            "message_id": self.message_id,
            "url": self.url,
            "status": self.status,
            "payload": self.payload,
            "http_status": self.http_status,
            "attempts": self.attempts,
            "error": self.error,
            "response_body": self.response_body,
            "at": self.at.isoformat(),
        }
