"""The Twilio webhook's form is read by our own bounded parser: values decoded as Twilio encoded them (so the
signature made by twilio-python's RequestValidator still matches), and an oversized or absurd body refused
before anything is stored."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select
from support.credentials import TWILIO_TOKEN
from support.inbound import (
    TWILIO_INBOUND,
    customer_comments,
    customer_with_number,
    open_shop,
    phone_of,
    post_twilio,
    signature,
    twilio_form,
)

from repairtext.adapters.db.models import Message


def stored_messages(ctx) -> int:
    with ctx.db.transaction() as session:
        return session.scalar(select(func.count()).select_from(Message).where(Message.direction == "inbound"))


def test_accents_emoji_plus_signs_and_ampersands_arrive_as_sent(shops, live_server):
    shop = open_shop(shops)
    customer = customer_with_number(shop)
    ticket = shop.ticket(customer["id"])
    body = "Ça marche 👍 & 1+1=2; 100% sure"
    url = live_server.url + TWILIO_INBOUND
    form = twilio_form(shop, phone_of(customer), body)

    assert post_twilio(url, form, signature(TWILIO_TOKEN, url, form)).status_code == 200

    assert [c["body"] for c in customer_comments(shop, ticket["id"])] == [body]


def test_a_body_over_one_mebibyte_is_413_and_stores_nothing(shops, live_server, ctx):
    shop = open_shop(shops)
    url = live_server.url + TWILIO_INBOUND
    form = twilio_form(shop, "+13125550123", "x" * (1 << 20))

    response = post_twilio(url, form, signature(TWILIO_TOKEN, url, form))

    assert response.status_code == 413
    assert stored_messages(ctx) == 0


def test_a_form_with_thousands_of_fields_is_400_and_stores_nothing(shops, live_server, ctx):
    shop = open_shop(shops)
    url = live_server.url + TWILIO_INBOUND
    form = twilio_form(shop, "+13125550123", "hi") + [(f"Junk{i}", "") for i in range(5000)]

    response = httpx.post(url, content="&".join(f"{k}={v}" for k, v in form),
                          headers={"Content-Type": "application/x-www-form-urlencoded",
                                   "X-Twilio-Signature": signature(TWILIO_TOKEN, url, form)}, timeout=30)

    assert response.status_code == 400 and "fields" in response.text
    assert stored_messages(ctx) == 0
