"""Rows to public shapes. URLs are built here so every page and endpoint agrees on them."""

from __future__ import annotations

from repairtext.adapters.db.models import Attachment, Comment, Customer, Message, MessageEvent, Shop, Ticket
from repairtext.domain import tickets
from repairtext.domain.quiet_hours import QuietHours
from repairtext.domain.receipt_words import explain
from repairtext.services.opt_outs import OptedOut


def customer_view(c: Customer, opted_out: OptedOut | None) -> dict:
    """`opted_out` comes from services/opt_outs (by number: a STOP before the customer existed counts too)."""
    return {"id": c.id, "name": c.name, "email": c.email, "sms_enabled": c.sms_enabled,
            "opted_out_at": opted_out.since if opted_out else None,
            "phones": [{"number": p.e164, "type": p.type} for p in c.phones], "created_at": c.created_at}


def portal_url(public_url: str, ticket: Ticket) -> str:
    return tickets.portal_link(public_url, ticket.portal_token)


def ticket_view(t: Ticket, public_url: str) -> dict:
    return {"id": t.id, "number": t.number, "customer_id": t.customer_id, "subject": t.subject,
            "problem": t.problem, "status": t.status, "portal_url": portal_url(public_url, t),
            "created_at": t.created_at, "updated_at": t.updated_at, "last_activity_at": t.last_activity_at,
            "needs_reply": t.needs_reply}


def attachment_view(a: Attachment, public_url: str) -> dict:
    base = f"{public_url}/api/v1/attachments/{a.id}"
    return {"id": a.id, "file_name": a.file_name, "content_type": a.content_type, "size": a.size,
            "url": base, "thumbnail_url": f"{base}/thumbnail" if a.thumbnail_key else None}


def comment_view(c: Comment, public_url: str) -> dict:
    return {"id": c.id, "body": c.body, "sms_body": c.sms_body, "public": c.public, "author": c.author,
            "author_name": c.author_name,
            "attachments": [attachment_view(a, public_url) for a in c.attachments], "created_at": c.created_at}


def message_view(m: Message) -> dict:
    return {"id": m.id, "direction": m.direction, "body": m.body, "status": m.status, "segments": m.segments,
            "credits": m.credits, "encoding": m.encoding, "trigger": m.trigger, "provider": m.provider,
            "provider_id": m.provider_id, "error_code": m.error_code, "error": m.error, "ticket_id": m.ticket_id,
            "customer_id": m.customer_id, "to": m.to_number, "from_": m.from_number, "send_after": m.send_after,
            "part": m.part, "parts": m.parts, "created_at": m.created_at,
            "status_history": [_event_view(m.provider, e) for e in m.events]}


def _event_view(provider: str | None, e: MessageEvent) -> dict:
    words = explain(provider, e.status, e.provider_status, e.error_code)
    return {"status": e.status, "provider_status": e.provider_status, "error_code": e.error_code,
            "applied": e.applied, "at": e.at, "description": words.summary, "advice": words.advice}


def inbox_view(m: Message) -> dict:
    return {"id": m.id, "from": m.from_number, "to": m.to_number, "body": m.body, "customer_id": m.customer_id,
            "reason": m.routing_reason, "media": [{"content_type": i.get("content_type"), "state": i.get("state")}
                                                  for i in (m.media or [])],
            "received_at": m.created_at}


def shop_view(shop: Shop, public_url: str) -> dict:
    quiet = QuietHours.parse({"start": shop.quiet_start, "end": shop.quiet_end})
    return {
        "id": shop.id, "name": shop.name, "plan": shop.plan, "time_zone": shop.time_zone,
        "subscription_started_on": shop.subscription_started_on.isoformat(), "provider": shop.provider,
        "numbers": [n.e164 for n in shop.numbers], "smart_encoding": shop.smart_encoding,
        "quiet_hours": quiet.as_dict(),
        "flowroute_access_key": shop.flowroute_access_key,
        "flowroute_secret_key_set": bool(shop.flowroute_secret_encrypted),
        "webhooks": {
            "twilio_inbound": f"{public_url}/webhooks/twilio/inbound",
            "twilio_status": f"{public_url}/webhooks/twilio/status",
            "flowroute_inbound": f"{public_url}/webhooks/flowroute/{shop.flowroute_token}/inbound",
            "flowroute_status": f"{public_url}/webhooks/flowroute/{shop.flowroute_token}/status",
        },
    }
