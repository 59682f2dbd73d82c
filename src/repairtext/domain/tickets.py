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

# The customer's portal link goes in texts, so it is short: /p/ and 12 URL-safe characters (72 random bits; the
# portal also limits how often one address may miss). Links made before keep working, as /portal/<token> does.
PORTAL_PATH = "/p/"
PORTAL_TOKEN_BYTES = 9


def portal_link(public_url: str, token: str) -> str:
    return f"{public_url}{PORTAL_PATH}{token}"


def is_open(status: str) -> bool:
    return status not in CLOSED_STATUSES


def needs_reply_after(author: str, public: bool) -> bool | None:
    """Whether a ticket needs a reply after a comment: yes when the customer wrote last, no once staff answered
    where the customer can see it; a hidden note or a system note changes nothing (None)."""
    if not public or author == "system":
        return None
    return author == "customer"


def needs_reply_of(comments) -> bool:
    """The needs-reply flag a whole conversation implies, given (author, public or texted) oldest first: the
    last comment that changes it decides, as needs_reply_after decided it comment by comment."""
    flag = False
    for author, public in comments:
        after = needs_reply_after(author, public)
        if after is not None:
            flag = after
    return flag
