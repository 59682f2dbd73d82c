"""The one extension point for carriers: a Provider sends a text, can look one up after an ambiguous
failure, and can say where a sent one stands. Adapters make real HTTP calls; the simulator
(repairtext.simulator) speaks the same wire protocols."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Protocol

# How far before our first attempt a look-up reads: the provider's clock and ours disagree by a little.
LOOKUP_SKEW = timedelta(minutes=5)
# A look-up reads at most this many pages and this long; past either it is incomplete, never "not found".
LOOKUP_MAX_PAGES = 20
LOOKUP_BUDGET_SECONDS = 20.0


@dataclass(frozen=True)
class OutboundText:
    to: str                     # E.164
    from_: str                  # E.164
    body: str
    status_callback: str
    media_urls: tuple[str, ...] = ()


@dataclass(frozen=True)
class SendReceipt:
    provider_id: str
    status: str                 # the provider's word: queued, accepted, ...
    segments: int | None = None


@dataclass
class ProviderError(Exception):
    """What went wrong at the provider, sorted by what we should do about it."""

    message: str
    code: str | None = None
    http_status: int | None = None
    retryable: bool = False          # 429, 5xx, connection errors: try again later
    ambiguous: bool = False          # we cannot tell whether the provider accepted it: look it up first
    opted_out: bool = False          # the carrier says the recipient replied STOP
    retry_after: float | None = None
    extra: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}" if self.code else self.message


def look_up_incomplete(provider: str, why: str) -> ProviderError:
    """A look-up that could not read the whole answer: the text stays in doubt and is looked up again later,
    never sent blind (sending.attempt_send sends only after a look-up that finished and found nothing)."""
    return ProviderError(f"could not finish looking the text up at {provider}: {why}", code="lookup_incomplete",
                         retryable=True, ambiguous=True)


@dataclass(frozen=True)
class ProviderStatus:
    """One status the provider reports for a message, in its own words."""

    status: str
    error_code: str | None = None


class Provider(Protocol):
    name: str

    def send(self, text: OutboundText) -> SendReceipt: ...

    def find_sent(self, text: OutboundText, since: datetime, exclude_ids: set[str]) -> SendReceipt | None:
        """The message matching `text` the provider accepted nearest `since` (our first attempt), not one of
        `exclude_ids`; None only when the whole window was read. Raises look_up_incomplete otherwise."""
        ...

    def fetch_status(self, provider_id: str) -> list[ProviderStatus]:
        """What the provider says of one message, oldest report first (the last is where it stands now)."""
        ...


def nearest(candidates: list[tuple[datetime | None, SendReceipt]], since: datetime) -> SendReceipt | None:
    """Of several provider messages that match one text (the same words sent to the same customer twice),
    the one created nearest our first attempt is this text's; the others belong to its twins."""
    if not candidates:
        return None
    return min(candidates, key=lambda c: abs((c[0] - since).total_seconds()) if c[0] else float("inf"))[1]


@dataclass(frozen=True)
class InboundText:
    """A customer's text as a provider's webhook delivered it, checked (parse_inbound in twilio.py/flowroute.py)."""

    provider: str
    provider_id: str
    from_number: str
    to_number: str
    body: str
    media: list[dict] = field(default_factory=list)   # [{"url", "content_type", "file_name"}]
    opt_out_type: str | None = None
    from_country: str | None = None


@dataclass(frozen=True)
class StatusReport:
    """A delivery receipt as a provider's webhook delivered it, checked."""

    provider_id: str
    status: str
    error_code: str | None = None


class PayloadRefused(ValueError):
    """A webhook body we will not take (the webhook answers 400 naming the field); nothing is stored."""


# Column sizes a webhook value must fit (models.py): longer is no genuine provider value, so it is refused.
PROVIDER_ID_MAX = 64       # messages.provider_id, pending_receipts.provider_id (a Twilio SID is 34)
NUMBER_MAX = 20            # messages.from_number / to_number (E.164 is at most 16; short codes and sender ids less)
STATUS_MAX = 60            # message_events.provider_status
ERROR_CODE_MAX = 40        # messages.error_code


def clean_text(value: str) -> str:
    """Provider text as we store it: PostgreSQL cannot hold NUL, and a NUL carries nothing a person wrote; half
    a surrogate pair (valid JSON, "\\ud800") is no character at all and becomes U+FFFD, as a decoder would."""
    value = value.replace("\x00", "")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in value)
    return value


def checked(field_name: str, value: object, max_length: int, *, required: bool = False) -> str:
    """A short provider value (an id, a number, a status): a string or number, within its column, or refused."""
    if value is None or value == "":
        if required:
            raise PayloadRefused(f"{field_name} is missing")
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise PayloadRefused(f"{field_name} must be a string")
    text = clean_text(str(value)).strip()
    if len(text) > max_length:
        raise PayloadRefused(f"{field_name} is longer than {max_length} characters")
    if required and not text:
        raise PayloadRefused(f"{field_name} is missing")
    return text


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After is either delay-seconds or an HTTP-date (RFC 9110, 10.2.3)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:  # an HTTP-date is always GMT
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())
