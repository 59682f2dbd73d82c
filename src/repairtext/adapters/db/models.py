"""Tables. Every row that belongs to a shop carries shop_id, and every query filters on it."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.sql.expression import false

from repairtext.adapters.db.types import UTCDateTime
from repairtext.domain.accounts import account_of

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
Id = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Shop(Base):
    __tablename__ = "shops"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    plan: Mapped[str] = mapped_column(String(40))
    time_zone: Mapped[str] = mapped_column(String(64))
    country: Mapped[str] = mapped_column(String(2), default="US")
    subscription_started_on: Mapped[date] = mapped_column(Date)
    provider: Mapped[str] = mapped_column(String(20), default="twilio")
    flowroute_access_key: Mapped[str | None] = mapped_column(String(200))
    flowroute_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    flowroute_token: Mapped[str] = mapped_column(String(64), unique=True)
    smart_encoding: Mapped[bool] = mapped_column(Boolean, default=True)
    quiet_start: Mapped[str] = mapped_column(String(5), default="21:00")
    quiet_end: Mapped[str] = mapped_column(String(5), default="08:00")
    next_ticket_number: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    numbers: Mapped[list[ShopNumber]] = relationship(order_by="ShopNumber.id", cascade="all, delete-orphan")


class ShopNumber(Base):
    """A sending number. Unique across shops: an inbound text finds its shop by the number it was sent to.

    `provider` says whose number it is: "twilio" numbers live on the platform's account and only the operator
    assigns them; "flowroute" numbers are the shop's own, which the shop manages itself."""

    __tablename__ = "shop_numbers"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"), index=True)
    e164: Mapped[str] = mapped_column(String(20), unique=True)
    provider: Mapped[str] = mapped_column(String(20), default="twilio", server_default="twilio")


class OptOut(Base):
    """A number that may not be texted by this shop, kept whether or not a customer has it yet: the only record
    of an opt-out (a customer is opted out while any of their numbers is; see services/opt_outs.py).
    `source` is why: "keyword" (the customer texted STOP) or "carrier" (the provider refused, Twilio 21610)."""

    __tablename__ = "opt_outs"
    __table_args__ = (UniqueConstraint("shop_id", "e164"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"))
    e164: Mapped[str] = mapped_column(String(20))
    opted_out_at: Mapped[datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(20), default="keyword", server_default="keyword")


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"), index=True)
    name: Mapped[str] = mapped_column(String(80), server_default="API key")
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Written at most every few minutes (services/api_keys.py), so using a key does not cost a write per request.
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StaffAccount(Base):
    """A person who works at a shop: signs in to the pages with an email and a password (argon2), as an owner
    (manages people, keys and settings) or as staff. Removed accounts are kept, so what they wrote keeps its
    author; an email belongs to one active account in the whole deployment, since sign-in asks only for it."""

    __tablename__ = "staff_accounts"
    __table_args__ = (Index("uq_staff_accounts_active_email", "email", unique=True,
                            sqlite_where=text("removed_at IS NULL"), postgresql_where=text("removed_at IS NULL")),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"), index=True)
    email: Mapped[str] = mapped_column(String(254))  # lower-cased
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(10))  # owner, staff
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StaffInvite(Base):
    """A one-time link an owner gives a new colleague; only the token's hash is kept."""

    __tablename__ = "staff_invites"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(10))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_accounts.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StaffSession(Base):
    """A signed-in browser. The cookie holds a random token; only its hash is stored, so reading this table does
    not hand out live sessions. A session ends at sign-out (revoked_at), at expires_at, or when its staff
    account is removed."""

    __tablename__ = "staff_sessions"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"), index=True)
    staff_account_id: Mapped[int] = mapped_column(ForeignKey("staff_accounts.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RateLimitHit(Base):
    """One failed attempt (a wrong key, token or sign-in) counted against `bucket` until `expires_at`.
    Kept in the database so every server process sees the same count."""

    __tablename__ = "rate_limit_hits"
    __table_args__ = (Index("ix_rate_limit_hits_bucket_expires", "bucket", "expires_at"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    bucket: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class TicketStatus(Base):
    __tablename__ = "ticket_statuses"
    __table_args__ = (UniqueConstraint("shop_id", "name"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"))
    name: Mapped[str] = mapped_column(String(60))
    position: Mapped[int] = mapped_column(Integer)


class Customer(Base):
    __tablename__ = "customers"
    # Names are searched through trigram indexes too (migration 0012: customers_name_search, ix_customers_name_trgm).
    __table_args__ = (Index("ix_customers_shop_name", "shop_id", "name", "id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    sms_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    phones: Mapped[list[CustomerPhone]] = relationship(
        order_by="CustomerPhone.id", cascade="all, delete-orphan", back_populates="customer"
    )


class CustomerPhone(Base):
    __tablename__ = "customer_phones"
    # The last digits of a number are found through trigram indexes (migration 0012: customer_phones_e164_search,
    # ix_customer_phones_e164_trgm).
    __table_args__ = (Index("ix_customer_phones_shop_e164", "shop_id", "e164"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    e164: Mapped[str] = mapped_column(String(20))
    type: Mapped[str] = mapped_column(String(10))

    customer: Mapped[Customer] = relationship(back_populates="phones")


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("shop_id", "number"),
        Index("ix_tickets_shop_customer", "shop_id", "customer_id"),
        # The desk's list: newest activity first, optionally only those that need a reply or of one status.
        Index("ix_tickets_shop_activity", "shop_id", "last_activity_at", "id"),
        Index("ix_tickets_shop_needs_reply_activity", "shop_id", "needs_reply", "last_activity_at", "id"),
        Index("ix_tickets_shop_status_activity", "shop_id", "status", "last_activity_at", "id"),
        # A search term too short for trigrams scans only the shop's subjects, in the index, never the rows.
        # Longer ones use the trigram indexes of migration 0012, which are not models (SQLite: the FTS5 table
        # tickets_subject_search, kept by triggers; PostgreSQL: ix_tickets_subject_trgm): adapters/db/text_search.py.
        Index("ix_tickets_shop_subject", "shop_id", "subject", "id"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    number: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(String(200))
    problem: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(60))
    portal_token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # A comment either way or a status change; what the desk sorts by.
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The customer wrote last (a public reply not yet answered in public).
    needs_reply: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    customer: Mapped[Customer] = relationship()


class Comment(Base):
    __tablename__ = "comments"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    body: Mapped[str] = mapped_column(Text, default="")
    sms_body: Mapped[str | None] = mapped_column(Text)
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    author: Mapped[str] = mapped_column(String(10))  # staff, customer, system
    # Who wrote it, as shown (the name when written): a staff member, an API key's name, the customer, or the
    # sender's number for a text placed from the inbox without linking the number to the customer.
    author_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    author_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_accounts.id"))
    # The customer who wrote it, when the sender is known to be them (the portal says "You" only then).
    author_customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    author_number: Mapped[str | None] = mapped_column(String(20))  # the number a customer's text came from
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    attachments: Mapped[list[Attachment]] = relationship(order_by="Attachment.id")


class Attachment(Base):
    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id"), index=True)
    file_name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    blob_key: Mapped[str] = mapped_column(String(200))
    thumbnail_key: Mapped[str | None] = mapped_column(String(200))
    thumbnail_content_type: Mapped[str | None] = mapped_column(String(100))
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SmsTemplate(Base):
    __tablename__ = "sms_templates"
    __table_args__ = (UniqueConstraint("shop_id", "trigger"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"))
    trigger: Mapped[str] = mapped_column(String(80))
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CannedReply(Base):
    """A shop's ready-made comment (a Liquid template with the same variables as the SMS templates)."""

    __tablename__ = "canned_replies"
    __table_args__ = (UniqueConstraint("shop_id", "title"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"))
    title: Mapped[str] = mapped_column(String(80))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


def _message_account(context) -> str:
    row = context.get_current_parameters()
    return account_of(row["provider"], row["shop_id"])


class Message(Base):
    """One provider message, either way. Outbound rows are the outbox's subject; inbound rows are the raw
    webhook, stored before we answer so nothing is lost."""

    __tablename__ = "messages"
    __table_args__ = (
        # A provider id is unique only within the account that issued it (the platform's Twilio account, or one
        # shop's own Flowroute account): another shop posting the same id must not make this one a duplicate.
        UniqueConstraint("provider", "account", "provider_id"),
        Index("ix_messages_shop_ticket", "shop_id", "ticket_id"),
        Index("ix_messages_shop_to_created", "shop_id", "direction", "to_number", "created_at"),
        Index("ix_messages_shop_state", "shop_id", "inbox_state"),
        Index("ix_messages_status_check", "status", "status_check_at", "updated_at"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"))
    direction: Mapped[str] = mapped_column(String(10))  # outbound, inbound
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id"))
    trigger: Mapped[str | None] = mapped_column(String(80))
    provider: Mapped[str] = mapped_column(String(20))
    # Always account_of(provider, shop_id), filled in on every insert (ORM or plain SQL) by the default.
    account: Mapped[str] = mapped_column(String(40), default=_message_account)
    provider_id: Mapped[str | None] = mapped_column(String(64))
    from_number: Mapped[str] = mapped_column(String(20))
    to_number: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text, default="")
    media: Mapped[list | None] = mapped_column(JSON)
    encoding: Mapped[str | None] = mapped_column(String(8))
    segments: Mapped[int] = mapped_column(Integer, default=0)
    credits: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20))
    error_code: Mapped[str | None] = mapped_column(String(40))
    error: Mapped[str | None] = mapped_column(Text)
    send_after: Mapped[datetime | None] = mapped_column(UTCDateTime)
    send_attempts: Mapped[int] = mapped_column(Integer, default=0)
    first_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    batch_id: Mapped[str | None] = mapped_column(String(32))
    part: Mapped[int] = mapped_column(Integer, default=1)
    parts: Mapped[int] = mapped_column(Integer, default=1)
    inbox_state: Mapped[str | None] = mapped_column(String(10))  # inbound: routed, triage, assigned, dismissed
    routing_rule: Mapped[str | None] = mapped_column(String(30))
    routing_reason: Mapped[str | None] = mapped_column(Text)
    # An inbox text staff set aside (inbox_state "dismissed"): kept, with why and by whom.
    dismissed_reason: Mapped[str | None] = mapped_column(Text)
    dismissed_by: Mapped[str | None] = mapped_column(String(120))
    dismissed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Reconciling a text whose delivery callbacks never came (services/reconcile.py): how often the provider was
    # asked, and when to ask next (null: not yet, or given up once status_checks > 0).
    status_checks: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    status_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    events: Mapped[list[MessageEvent]] = relationship(order_by="MessageEvent.id")


class MessageEvent(Base):
    """A message's status history, including callbacks that arrived late, twice or out of order."""

    __tablename__ = "message_events"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    status: Mapped[str] = mapped_column(String(40))
    provider_status: Mapped[str | None] = mapped_column(String(60))
    error_code: Mapped[str | None] = mapped_column(String(40))
    applied: Mapped[bool] = mapped_column(Boolean, default=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class PendingReceipt(Base):
    """A delivery receipt for a provider id we have not recorded yet (the callback beat our commit).

    `shop_id` is the shop whose Flowroute token it came in with; None for the platform's Twilio account. It
    is only ever applied to a message of that account."""

    __tablename__ = "pending_receipts"
    __table_args__ = (Index("ix_pending_receipts_provider_id", "provider", "provider_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    shop_id: Mapped[int | None] = mapped_column(ForeignKey("shops.id"), index=True)
    provider: Mapped[str] = mapped_column(String(20))
    provider_id: Mapped[str] = mapped_column(String(64))
    provider_status: Mapped[str] = mapped_column(String(60))
    error_code: Mapped[str | None] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class Job(Base):
    """The transactional outbox: queued in the same transaction as the decision it carries out."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_due", "state", "run_after"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    shop_id: Mapped[int | None] = mapped_column(ForeignKey("shops.id"))
    kind: Mapped[str] = mapped_column(String(30))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    payload: Mapped[dict | None] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(10), default="pending")  # pending, running, done, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=8)
    run_after: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_by: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CreditBalance(Base):
    """A cache of the ledger, and the row every debit locks: the ledger stays the truth."""

    __tablename__ = "credit_balances"
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"), primary_key=True)
    month: Mapped[str] = mapped_column(String(7))
    monthly_remaining: Mapped[int] = mapped_column(Integer, default=0)
    addon_remaining: Mapped[int] = mapped_column(Integer, default=0)
    low_alert_month: Mapped[str | None] = mapped_column(String(7))


class LedgerEntry(Base):
    """Append-only. Amounts are signed credits; `month` names the allowance month a monthly entry belongs to."""

    __tablename__ = "credit_ledger"
    __table_args__ = (Index("ix_credit_ledger_shop_created", "shop_id", "created_at"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"))
    kind: Mapped[str] = mapped_column(String(10))  # grant, expiry, purchase, debit, refund
    bucket: Mapped[str] = mapped_column(String(10))  # monthly, addon
    amount: Mapped[int] = mapped_column(Integer)
    month: Mapped[str | None] = mapped_column(String(7))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"), index=True)
    purchase_id: Mapped[int | None] = mapped_column(ForeignKey("addon_purchases.id"))
    reason: Mapped[str] = mapped_column(String(200))
    idempotency_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AddonPurchase(Base):
    __tablename__ = "addon_purchases"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"), index=True)
    credits: Mapped[int] = mapped_column(Integer)
    price_cents: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class IdempotencyKey(Base):
    """A request made safe to retry (`Idempotency-Key`): its answer, written in the same transaction as its work,
    so a key is recorded exactly when the work is, and a repeat within 24 hours gets this answer again."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("shop_id", "key"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"))
    key: Mapped[str] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(64))  # sha256 of method, path and body
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[str] = mapped_column(Text)  # the JSON body answered
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("shop_id", "kind", "month"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"))
    kind: Mapped[str] = mapped_column(String(30))
    month: Mapped[str] = mapped_column(String(7))
    detail: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PeriodicTask(Base):
    """When a deployment-wide housekeeping task last ran (see adapters/db/periodic.py)."""

    __tablename__ = "periodic_tasks"
    task: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_run_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Event(Base):
    """What just committed, for the live stream (GET /api/v1/events): ids only, read the records with the API.
    Kept a few days so a client that reconnects with Last-Event-ID catches up."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_shop_id_id", "shop_id", "id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"))
    kind: Mapped[str] = mapped_column(String(30))
    ticket_id: Mapped[int | None] = mapped_column(BigInteger)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    comment_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
