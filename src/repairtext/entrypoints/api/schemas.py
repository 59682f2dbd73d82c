"""Request and response shapes (the public contract in api.md). Limits here name the field on a 422.

Every request shape is `Strict`: unknown fields are refused, and no text may carry a NUL character or a lone
surrogate (no database can store them, so they would otherwise fail at the database as a 500). Every id anywhere (path, query, body) is
an `Id`: 1 .. 2^63-1, the range of the BIGINT/INTEGER columns, so an out-of-range id is a 422 naming the field,
never an OverflowError from SQLite or "bigint out of range" from PostgreSQL.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

PhoneTypeName = Literal["mobile", "home", "work", "other"]

MAX_ID = 2**63 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID, description="an id (1 to 2^63-1)")]


def _not_null(value: Any) -> Any:
    # Runs only on a value that was sent: left out, the field keeps its default and means "no change".
    if value is None:
        raise ValueError("may be left out, but not null")
    return value


T = TypeVar("T")
# A PATCH field that may be absent but never null (null would blank a column that must have a value). Pydantic
# validates it as T alone (defaults are never validated, so None means "absent"): a union with None would
# report a bad value twice, under made-up names ("name.constrained-str", "name.none") instead of the field's.
if TYPE_CHECKING:
    NotNull = Annotated[T | None, "absent, or a value (never null)"]
else:
    class NotNull:
        def __class_getitem__(cls, item):
            return Annotated[item, BeforeValidator(_not_null)]


def _unstorable(value: Any) -> str | None:
    """Why a text cannot be stored (PostgreSQL holds no NUL; no database holds half a surrogate pair), if so."""
    if isinstance(value, str):
        if "\x00" in value:
            return "may not contain a NUL character"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "is not valid Unicode (a lone surrogate)"
        return None
    if isinstance(value, (list, tuple)):
        return next((reason for v in value if (reason := _unstorable(v))), None)
    return None


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _refuse_unstorable_text(cls, value: Any) -> Any:
        if reason := _unstorable(value):
            raise ValueError(reason)
        return value


class PhoneIn(Strict):
    number: str = Field(min_length=1, max_length=40)
    type: str = Field(max_length=20)


class CustomerCreate(Strict):
    name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    sms_enabled: bool = True
    phones: list[PhoneIn] = Field(default_factory=list, max_length=10)


class CustomerUpdate(Strict):
    """Absent fields stay as they are. `email: null` clears the email; null for the others is refused (422):
    `{"phones": null}` would otherwise wipe every phone; send `"phones": []` to remove them all."""

    name: NotNull[Annotated[str, Field(min_length=1, max_length=200)]] = None
    email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    sms_enabled: NotNull[bool] = None
    phones: NotNull[Annotated[list[PhoneIn], Field(max_length=10)]] = None


class PhoneOut(BaseModel):
    number: str
    type: PhoneTypeName


class CustomerPublic(BaseModel):
    id: int
    name: str
    email: str | None
    sms_enabled: bool
    opted_out_at: datetime | None
    phones: list[PhoneOut]
    created_at: datetime


class TicketCreate(Strict):
    customer_id: Id
    subject: str = Field(min_length=1, max_length=200)
    problem: str = Field(default="", max_length=10_000)


class TicketUpdate(Strict):
    """Absent fields stay as they are; null is refused (422). `customer_id` moves the ticket to another customer
    of the same shop (any other id is a 422 naming the field)."""

    status: NotNull[Annotated[str, Field(min_length=1, max_length=60)]] = None
    subject: NotNull[Annotated[str, Field(min_length=1, max_length=200)]] = None
    problem: NotNull[Annotated[str, Field(max_length=10_000)]] = None
    customer_id: NotNull[Id] = None


class TicketPublic(BaseModel):
    id: int
    number: int
    customer_id: int
    subject: str
    problem: str
    status: str
    portal_url: str
    created_at: datetime
    updated_at: datetime
    last_activity_at: datetime
    needs_reply: bool


class CommentCreate(Strict):
    body: str = Field(default="", max_length=20_000)
    sms_body: str | None = Field(default=None, max_length=4_800)
    hidden: bool = False


class AttachmentPublic(BaseModel):
    id: int
    file_name: str
    content_type: str
    size: int
    url: str
    thumbnail_url: str | None


class CommentPublic(BaseModel):
    id: int
    body: str
    sms_body: str | None
    public: bool
    author: Literal["staff", "customer", "system"]
    author_name: str = Field(description="the staff member's (or API key's) name, the customer's name, or the "
                                         "sender's number for a text not known to be the customer's (placed from "
                                         "the inbox without linking it)")
    attachments: list[AttachmentPublic]
    created_at: datetime


class StatusEvent(BaseModel):
    status: str
    provider_status: str | None
    error_code: str | None
    applied: bool
    at: datetime
    description: str = Field(description="what the status means, in plain words (domain/receipt_words.py)")
    advice: str | None = Field(description="what staff can do about it; null when nothing needs doing")


class MessagePublic(BaseModel):
    id: int
    direction: Literal["outbound", "inbound"]
    body: str
    status: str
    segments: int
    credits: int
    encoding: str | None
    trigger: str | None
    provider: str
    provider_id: str | None
    error_code: str | None
    error: str | None
    ticket_id: int | None
    customer_id: int | None
    to: str
    from_: str = Field(serialization_alias="from")
    send_after: datetime | None
    part: int
    parts: int
    created_at: datetime
    status_history: list[StatusEvent]


class QuietHoursIn(Strict):
    start: str = Field(pattern=r"^\d{2}:\d{2}$")
    end: str = Field(pattern=r"^\d{2}:\d{2}$")


class ShopUpdate(Strict):
    """Absent fields stay as they are; null clears the Flowroute credentials and is refused for the rest."""

    provider: NotNull[Literal["twilio", "flowroute"]] = None
    flowroute_access_key: str | None = Field(default=None, max_length=200)
    flowroute_secret_key: str | None = Field(default=None, max_length=200)
    numbers: NotNull[Annotated[list[str], Field(max_length=20)]] = None
    time_zone: NotNull[Annotated[str, Field(max_length=64)]] = None
    quiet_hours: NotNull[QuietHoursIn] = None
    smart_encoding: NotNull[bool] = None


class TemplateIn(Strict):
    body: str = Field(max_length=1_600)


class TemplatePreviewIn(Strict):
    body: str = Field(max_length=1_600)
    ticket_id: Id


class SegmentsIn(Strict):
    text: str = Field(max_length=10_000)


class AssignIn(Strict):
    ticket_id: Id
    link_customer: bool = Field(default=False, description="also add the sender's number to the ticket's customer "
                                "as a mobile phone (refused when another customer has it)")


class AssignOut(BaseModel):
    id: int
    ticket_id: int
    comment_id: int


class DismissIn(Strict):
    reason: str = Field(min_length=1, max_length=500, description="why, e.g. 'spam', 'wrong number'")


class InboxMedia(BaseModel):
    content_type: str | None
    state: str = Field(description="pending, stored (viewable), refused, failed, attached, …")
    reason: str | None = Field(description="why it was refused or failed")
    url: str | None = Field(description="the picture, for staff (the API key), while one is stored")
    thumbnail_url: str | None


class InboxText(BaseModel):
    id: int
    from_: str = Field(alias="from")
    to: str
    body: str
    customer_id: int | None
    reason: str | None = Field(description="why no rule could place it")
    media: list[InboxMedia]
    received_at: datetime
    state: Literal["triage", "dismissed"]
    dismissed_reason: str | None
    dismissed_by: str | None
    dismissed_at: datetime | None


class CommentMoveIn(Strict):
    ticket_id: Id


class CommentMoved(BaseModel):
    id: int
    ticket_id: int
    from_ticket_id: int


class AddonPurchasePublic(BaseModel):
    id: int
    credits: int
    price_cents: int
    created_at: datetime


class CreditsPublic(BaseModel):
    plan: str
    month: str
    monthly_allowance: int
    monthly_remaining: int
    addon_remaining: int
    total_remaining: int
    addons_available_from: date
    addon_pack_credits: int
    addon_pack_price_cents: int
    low_credit_alert: bool


class TicketListItem(TicketPublic):
    customer_name: str


class TicketPage(BaseModel):
    items: list[TicketListItem]
    next_cursor: str | None


class CustomerPage(BaseModel):
    items: list[CustomerPublic]
    next_cursor: str | None


class ApiKeyCreate(Strict):
    name: str = Field(min_length=1, max_length=80, description="where the key is used, e.g. 'Front desk'")


class ApiKeyPublic(BaseModel):
    id: int
    name: str
    prefix: str = Field(description="the start of the key (rt_…), to tell keys apart; never the secret")
    created_at: datetime
    last_used_at: datetime | None = Field(description="to within a few minutes")
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyPublic):
    key: str = Field(description="the whole key: shown this once, never again")
