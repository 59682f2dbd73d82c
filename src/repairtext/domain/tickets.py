"""Ticket statuses: a per-shop list, seeded with the ones a repair desk uses. Open until Resolved."""

from __future__ import annotations

NEW = "New"
CUSTOMER_REPLY = "Customer Reply"
RESOLVED = "Resolved"

DEFAULT_STATUSES = (
    NEW,
    "In Progress",
    "Waiting for Parts",
    "Waiting on Customer",
    CUSTOMER_REPLY,
    "Ready for Pickup",
    RESOLVED,
)

CLOSED_STATUSES = frozenset({RESOLVED})


def is_open(status: str) -> bool:
    return status not in CLOSED_STATUSES


def needs_reply_after(author: str, public: bool) -> bool | None:
    """Whether a ticket needs a reply after a comment: yes when the customer wrote last, no once staff answered
    where the customer can see it; a hidden note or a system note changes nothing (None)."""
    if not public or author == "system":
        return None
    return author == "customer"
