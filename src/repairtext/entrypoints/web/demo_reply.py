"""`repairtext demo` only: play a customer's reply (optionally with a photo) from the ticket page.

The reply goes through the in-process provider simulator, which signs and delivers it to our real Twilio
webhook, so the demo shows exactly what a real reply does: routing, the Customer Reply status, MMS thumbnails.
"""

from __future__ import annotations

import base64
import io

import httpx
from fastapi import APIRouter
from fastapi.responses import Response

from repairtext.domain.errors import NotFound
from repairtext.entrypoints.api.deps import ContextDep
from repairtext.entrypoints.api.schemas import Id
from repairtext.entrypoints.web.auth import PostedDep, flash
from repairtext.entrypoints.web.forms import see_other
from repairtext.services import tickets
from repairtext.services.outbound import recipient_of

router = APIRouter(include_in_schema=False)


def sample_photo() -> bytes:
    """A small PNG standing in for a customer's photo of a cracked phone."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (480, 360), (226, 232, 240))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((170, 30, 310, 330), radius=22, fill=(30, 41, 59))
    draw.rounded_rectangle((180, 50, 300, 310), radius=8, fill=(96, 165, 250))
    for line in [((205, 90), (240, 160), (228, 230)), ((240, 160), (285, 190)), ((240, 160), (196, 205))]:
        draw.line(line, fill=(241, 245, 249), width=3)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


@router.post("/tickets/{ticket_id:id}/demo-reply")
def demo_reply(ticket_id: Id, posted: PostedDep, ctx: ContextDep) -> Response:
    simulator = getattr(ctx, "demo_simulator_url", None)
    if not simulator:
        raise NotFound("the simulator runs only in the demo")
    shop = posted.staff.shop
    with ctx.db.transaction() as session:
        mobiles = recipient_of(session, tickets.get_ticket(session, shop.id, ticket_id).customer).mobile_numbers
    response = see_other(f"/tickets/{ticket_id}")
    if not mobiles or not shop.numbers:
        return flash(ctx, response, "This customer has no mobile phone to reply from.", "error")
    media = ([{"content_type": "image/png", "data_base64": base64.b64encode(sample_photo()).decode()}]
             if posted.checked("photo") else [])
    httpx.post(f"{simulator}/_sim/twilio/inbound", timeout=15, json={
        "from": mobiles[0], "to": shop.numbers[0].e164, "body": posted.get("body") or "Thanks!", "media": media})
    return flash(ctx, response, "The customer's reply went through the simulator; reload in a moment to see it.")
