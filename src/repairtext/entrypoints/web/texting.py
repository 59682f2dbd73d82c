"""What the pages say about texting a customer, before anything is sent: "Will text (206) 555-0134" or "Cannot
text: …" with, where staff can fix it on the customer, a link to the form that does. The verdict itself comes
from services/outbound.check_texting, the rule every queued text is held to."""

from __future__ import annotations

from urllib.parse import urlencode

from repairtext.domain.phones import display
from repairtext.services.outbound import Texting

# Refusals staff fix on the customer's form, the part of it each one is about, and what the link says.
FIXES = {"no_mobile": ("phones", "Fix the phones"), "sms_disabled": ("sms", "Turn SMS on")}


def edit_url(customer_id: int, back: str | None = None, part: str = "") -> str:
    """The customer's edit form; `back` (a local path) is where saving returns to."""
    query = f"?{urlencode({'next': back})}" if back else ""
    return f"/customers/{customer_id}/edit{query}{'#' + part if part else ''}"


def verdict(texting: Texting, customer_id: int, back: str | None = None) -> dict:
    """{can_text, to, message, code, fix_url, fix_label}: the same shape on the pages and at /ui/."""
    refusal = texting.refusal
    if refusal is None:
        return {"can_text": True, "to": texting.to, "message": f"Will text {display(texting.to)}", "code": None,
                "fix_url": None, "fix_label": None}
    part, label = FIXES.get(refusal.code, (None, None))
    return {"can_text": False, "to": texting.to or None, "message": f"Cannot text: {refusal.reason}",
            "code": refusal.code, "fix_url": edit_url(customer_id, back, part) if part else None, "fix_label": label}
