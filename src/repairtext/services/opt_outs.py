"""Who said stop: one record, one reader, one writer.

An opt-out belongs to a phone number of a shop (`opt_outs`), whether or not a customer has that number yet, so
STOP from a number we do not know, or a customer record added later with it, still means no texts. A customer
is opted out while any of their numbers is; nothing else records it (customers have no opt-out column).

- `opted_out(session, recipients)` is the only reader, batch-capable: queue time (outbound), send time
  (sending), the API and the pages all ask it.
- `do_opt_out` / `do_opt_in` are the only writers: inbound keywords, Twilio error 21610 at send and in receipts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from repairtext.adapters.db.models import Customer, CustomerPhone, OptOut
from repairtext.adapters.db.rows import rowcount

# CTIA: a HELP request is answered even from a number that opted out.
ALWAYS_ALLOWED_TRIGGERS = frozenset({"help_reply"})

KEYWORD, CARRIER = "keyword", "carrier"   # why: the customer texted STOP; the carrier refused (Twilio 21610)

# (shop id, number to text or None, customer id or None)
Recipient = tuple[int, str | None, int | None]


@dataclass(frozen=True)
class OptedOut:
    since: datetime
    number: str
    source: str

    @property
    def reason(self) -> str:
        when = self.since.date().isoformat()
        if self.source == CARRIER:
            return f"the carrier reported on {when} that {self.number} replied STOP"
        return f"{self.number} replied STOP on {when}"


def opted_out(session: Session, recipients: Iterable[Recipient]) -> dict[Recipient, OptedOut]:
    """For each (shop, number, customer) that may not be texted: since when and why (the earliest opt-out of
    the number itself or of any number of the customer). Two queries whatever the batch size."""
    wanted = set(recipients)
    customer_ids = {customer_id for _, _, customer_id in wanted if customer_id}
    numbers_of: dict[int, set[str]] = {}
    if customer_ids:
        for phone_owner, phone_number in session.execute(select(CustomerPhone.customer_id, CustomerPhone.e164)
                                                         .where(CustomerPhone.customer_id.in_(customer_ids))):
            numbers_of.setdefault(phone_owner, set()).add(phone_number)
    numbers = {e164 for _, e164, _ in wanted if e164} | {n for ns in numbers_of.values() for n in ns}
    if not numbers:
        return {}
    stops = {(row.shop_id, row.e164): OptedOut(row.opted_out_at, row.e164, row.source) for row in session.execute(
        select(OptOut.shop_id, OptOut.e164, OptOut.opted_out_at, OptOut.source).where(
            OptOut.shop_id.in_({shop_id for shop_id, _, _ in wanted}), OptOut.e164.in_(numbers)))}
    found = {}
    for key in wanted:
        shop_id, e164, customer_id = key
        candidates = ({e164} if e164 else set()) | numbers_of.get(customer_id or 0, set())
        hits = [stops[(shop_id, n)] for n in candidates if (shop_id, n) in stops]
        if hits:
            found[key] = min(hits, key=lambda hit: (hit.since, hit.number))
    return found


def of_customers(session: Session, customers: Iterable[Customer]) -> dict[int, OptedOut]:
    """The reader, for showing customers (API, pages): customer id -> opt-out, for those opted out."""
    found = opted_out(session, [(c.shop_id, None, c.id) for c in customers])
    return {customer_id: hit for (_, _, customer_id), hit in found.items() if customer_id}


def of_numbers(session: Session, shop_id: int, numbers: Iterable[str]) -> dict[str, OptedOut]:
    """The reader, number by number (a customer's page shows each phone's own opt-out, also one older than
    the customer): e164 -> opt-out, for the numbers opted out."""
    found = opted_out(session, [(shop_id, n, None) for n in numbers])
    return {e164: hit for (_, e164, _), hit in found.items() if e164}


def do_opt_out(session: Session, shop_id: int, e164: str, now: datetime, source: str = KEYWORD) -> None:
    """The number may not be texted by this shop from `now` on (the first opt-out's time is kept)."""
    if not e164:
        return
    # ON CONFLICT DO NOTHING: two STOPs at once must not fail the transaction that carries the second one.
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(insert(OptOut).values(shop_id=shop_id, e164=e164, opted_out_at=now, source=source)
                    .on_conflict_do_nothing(index_elements=["shop_id", "e164"]))


def do_opt_in(session: Session, shop_id: int, e164: str) -> bool:
    """START from the number: it may be texted again. Returns whether it had opted out."""
    return bool(rowcount(session.execute(delete(OptOut).where(OptOut.shop_id == shop_id, OptOut.e164 == e164))))
