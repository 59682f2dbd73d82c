"""Templates, previews and segment counts."""

from __future__ import annotations

from fastapi import APIRouter

from repairtext.adapters.db.models import Shop
from repairtext.adapters.db.rows import must_get
from repairtext.entrypoints.api.deps import ContextDep, SessionDep, ShopDep
from repairtext.entrypoints.api.schemas import SegmentsIn, TemplateIn, TemplatePreviewIn
from repairtext.services import templates, tickets
from repairtext.services.outbound import cost_of

router = APIRouter(prefix="/api/v1", tags=["texts"])


@router.get("/templates")
def list_templates(shop: ShopDep, session: SessionDep) -> list[dict]:
    return [t.__dict__ for t in templates.list_templates(session, shop.id)]


@router.put("/templates/{trigger}")
def save_template(trigger: str, body: TemplateIn, shop: ShopDep, ctx: ContextDep) -> dict:
    with ctx.db.transaction() as session:
        return templates.do_save_template(session, shop.id, trigger, body.body, ctx.clock.now()).__dict__


@router.post("/templates/preview")
def preview_template(body: TemplatePreviewIn, shop: ShopDep, session: SessionDep, ctx: ContextDep) -> dict:
    ticket = tickets.get_ticket(session, shop.id, body.ticket_id)
    shop_row = must_get(session, Shop, shop.id)
    text = templates.render(body.body, templates.template_variables(shop_row, ticket, ctx.settings.public_url))
    encoding, segments, credits = cost_of(shop_row, text)
    return {"text": text, "encoding": encoding, "segments": segments, "credits": credits}


@router.post("/segments")
def count_segments(body: SegmentsIn, shop: ShopDep) -> dict:
    """What a text would cost from this shop, before it is sent."""
    encoding, segments, credits = cost_of(shop, body.text)
    return {"encoding": encoding, "segments": segments, "credits": credits}
