"""The one extension point for carriers: a Provider sends a text and can look one up after an ambiguous
failure. Adapters make real HTTP calls; the simulator (repairtext.simulator) speaks the same wire protocols."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


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


class Provider(Protocol):
    name: str

    def send(self, text: OutboundText) -> SendReceipt: ...

    def find_sent(self, text: OutboundText, since: datetime, exclude_ids: set[str]) -> SendReceipt | None:
        """A message matching `text` the provider accepted at or after `since`, not one of `exclude_ids`."""
        ...


def retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
