"""What a text costs as this shop sends it, with the characters that make it UCS-2: the shape the compose box and
the template editor show as staff type (`/ui/segments`, `/ui/templates/check`) and the template page renders."""

from __future__ import annotations

from repairtext.adapters.db.models import Shop
from repairtext.domain.plain_text import non_gsm_characters, plain_spelling
from repairtext.services.outbound import cost_of, prepare_text


def cost_view(shop: Shop, text: str) -> dict:
    """{encoding, segments, credits, provider, characters, sent_as, culprits, more_culprits, plain}.

    `sent_as` is the text as it goes when the shop's smart encoding changes it (else None); `culprits` are the
    characters that still make it UCS-2 once sent; `plain` (when some culprit has a GSM-7 spelling) is the text
    spelled with plain characters and what that would cost, for the "Use plain characters" button."""
    sent = prepare_text(shop, text)
    encoding, segments, credits = cost_of(shop, text)
    found = non_gsm_characters(sent)
    view = {
        "encoding": encoding, "segments": segments, "credits": credits, "provider": shop.provider,
        "characters": len(text), "sent_as": sent if sent != text else None,
        "culprits": [{"character": c.character, "code": c.code, "name": c.name, "plain": c.plain, "count": c.count,
                      "unseen": c.unseen} for c in found.culprits],
        "more_culprits": found.more, "plain": None,
    }
    if found.fixable:
        plain = plain_spelling(text)
        p_encoding, p_segments, p_credits = cost_of(shop, plain)
        view["plain"] = {"text": plain, "encoding": p_encoding, "segments": p_segments, "credits": p_credits}
    return view
