"""A ticket's conversation as one timeline: comments, with the texts they sent or came from, and the texts that
stand alone (automatic templates, HELP replies, refusals). Shapes come from the API's views, so the page and
`GET /api/v1/...` always tell the same story."""

from __future__ import annotations

from sqlalchemy.orm import Session

from repairtext.adapters.db.models import Shop
from repairtext.adapters.db.rows import must_get
from repairtext.bootstrap import Context
from repairtext.entrypoints.api.views import comment_view, customer_view, message_view, ticket_view
from repairtext.entrypoints.web import queries
from repairtext.entrypoints.web.texting import verdict
from repairtext.services import canned_replies, credits, opt_outs, templates, tickets
from repairtext.services.outbound import check_texting
from repairtext.services.shops import status_names


def timeline(comments: list[dict], messages: list[dict]) -> list[dict]:
    """Entries oldest first: {"comment", "texts", "received"} or {"text"} for a text without a comment."""
    by_comment: dict[int, list[dict]] = {}
    alone = []
    for m in messages:
        if m["comment_id"] is not None:
            by_comment.setdefault(m["comment_id"], []).append(m)
        else:
            alone.append(m)
    entries = []
    for c in comments:
        linked = by_comment.pop(c["id"], [])
        entries.append({"at": c["created_at"], "order": (0, c["id"]), "comment": c,
                        "texts": [m for m in linked if m["direction"] == "outbound"],
                        "received": next((m for m in linked if m["direction"] == "inbound"), None)})
    # A text whose comment we could not load still shows, on its own.
    for m in alone + [m for rest in by_comment.values() for m in rest]:
        entries.append({"at": m["created_at"], "order": (1, m["id"]), "text": m})
    return sorted(entries, key=lambda e: (e["at"], e["order"]))


NOT_DELIVERED = ("undelivered", "failed")


def why_not_delivered(message: dict) -> dict | None:
    """The history entry that put a text in its failed status (its words say what to do), or None."""
    if message["status"] not in NOT_DELIVERED:
        return None
    return next((e for e in reversed(message["status_history"])
                 if e["applied"] and e["status"] == message["status"]), None)


def ticket_page(ctx: Context, session: Session, shop_id: int, ticket_id: int) -> dict:
    """Everything the ticket page shows. Raises NotFound for a ticket of another shop."""
    ticket = tickets.get_ticket(session, shop_id, ticket_id)
    shop = must_get(session, Shop, shop_id)
    public_url = ctx.settings.public_url
    comments = [dict(comment_view(c, public_url), ticket_id=ticket.id)
                for c in tickets.list_comments(session, shop_id, ticket_id)]
    messages = []
    for m in queries.ticket_messages(session, shop_id, ticket_id):
        view = message_view(m)
        messages.append(dict(view, comment_id=m.comment_id, outcome=why_not_delivered(view)))
    texting = check_texting(ctx, session, shop, ticket.customer)
    with_text = {t.trigger for t in templates.list_templates(session, shop_id) if t.body}
    entries = timeline(comments, messages)
    movable = any(e.get("received") and e["comment"]["author"] == "customer" for e in entries if "comment" in e)
    return {
        "ticket": ticket_view(ticket, public_url),
        "customer": customer_view(ticket.customer, opt_outs.of_customers(session, [ticket.customer]).get(ticket.customer.id)),
        "timeline": entries,
        # Where a customer's text may be moved, when the page shows one.
        "move_choices": queries.move_choices(session, shop_id, ticket) if movable else [],
        "statuses": [{"name": s, "texts": templates.STATUS_PREFIX + s in with_text}
                     for s in status_names(session, shop_id)],
        "cannot_text": texting.refusal.reason if texting.refusal else None,
        "texting": verdict(texting, ticket.customer.id, back=f"/tickets/{ticket.id}"),
        "credits_left": credits.summary(ctx, session, shop).total_remaining,
        "provider": shop.provider,
        "canned": [{"id": r.id, "title": r.title} for r in canned_replies.list_replies(session, shop_id)],
    }
