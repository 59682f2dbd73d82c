"""Where an inbound reply belongs: one deterministic, documented rule. Never a guess, never lost.

In order:
  (a) a "#<ticket number>" in the text naming exactly one ticket of a customer with that number;
  (b) the ticket of the most recent outbound text to that number within 30 days;
  (c) the only open ticket of the only customer with that number;
  otherwise the triage inbox, with the reason, where a person places it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

RECENT_OUTBOUND_WINDOW = timedelta(days=30)
_TICKET_REF = re.compile(r"#\s?(\d{1,9})\b")


@dataclass(frozen=True)
class TicketRef:
    id: int
    number: int
    customer_id: int
    open: bool


@dataclass(frozen=True)
class RecentOutbound:
    ticket_id: int
    customer_id: int
    sent_at: datetime


@dataclass(frozen=True)
class Route:
    ticket_id: int | None
    customer_id: int | None
    rule: str  # "ticket_number", "recent_outbound", "only_open_ticket" or "inbox"
    reason: str

    @property
    def to_inbox(self) -> bool:
        return self.ticket_id is None


def mentioned_ticket_numbers(body: str | None) -> set[int]:
    return {int(m) for m in _TICKET_REF.findall(body or "")}


def route_reply(
    body: str | None,
    customer_ids: list[int],
    tickets: list[TicketRef],
    last_outbound: RecentOutbound | None,
    now: datetime,
) -> Route:
    """`tickets` are the tickets of `customer_ids` (every customer of the shop with the sender's number)."""
    if not customer_ids:
        return Route(None, None, "inbox", "no customer has this number")

    named = [t for t in tickets if t.number in mentioned_ticket_numbers(body)]
    if len(named) == 1:
        t = named[0]
        return Route(t.id, t.customer_id, "ticket_number", f"the text names ticket #{t.number}")
    if len(named) > 1:
        numbers = ", ".join(f"#{t.number}" for t in sorted(named, key=lambda t: t.number))
        return Route(None, None, "inbox", f"the text names several tickets ({numbers})")

    if last_outbound is not None and now - last_outbound.sent_at <= RECENT_OUTBOUND_WINDOW:
        return Route(last_outbound.ticket_id, last_outbound.customer_id, "recent_outbound",
                     "reply to the most recent text sent to this number")

    if len(customer_ids) > 1:
        return Route(None, None, "inbox", f"{len(customer_ids)} customers share this number")
    open_tickets = [t for t in tickets if t.open]
    if len(open_tickets) == 1:
        t = open_tickets[0]
        return Route(t.id, t.customer_id, "only_open_ticket", f"ticket #{t.number} is the customer's only open ticket")
    if not open_tickets:
        return Route(None, customer_ids[0], "inbox", "the customer has no open ticket")
    return Route(None, customer_ids[0], "inbox", f"the customer has {len(open_tickets)} open tickets")
