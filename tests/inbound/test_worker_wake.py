"""The server wakes its in-process worker only when a received text queued work for it (media to fetch, a HELP
answer to send); a plain reply queues nothing, and waking the worker for it costs a claim on every webhook."""

from __future__ import annotations

from support.credentials import TWILIO_TOKEN
from support.inbound import (
    TWILIO_INBOUND,
    customer_comments,
    customer_with_number,
    media,
    open_shop,
    phone_of,
    png,
    post_twilio,
    signature,
    twilio_form,
    twilio_text,
)


def shop_with_a_ticket(shops, worker):
    shop = open_shop(shops)
    customer = customer_with_number(shop)
    ticket = shop.ticket(customer["id"])
    worker.drain()  # the Initial Problem text goes out; what follows starts from an empty outbox
    return shop, customer, ticket


def test_a_plain_reply_is_stored_without_waking_the_worker(shops, sim, worker, ctx):
    shop, customer, ticket = shop_with_a_ticket(shops, worker)
    ctx.work_queued.clear()

    twilio_text(sim, shop, phone_of(customer), "Is my phone ready?")

    assert [c["body"] for c in customer_comments(shop, ticket["id"])] == ["Is my phone ready?"]
    assert not ctx.work_queued.is_set()
    assert worker.drain() == 0  # and indeed there was nothing to do


def test_a_picture_wakes_the_worker(shops, sim, worker, ctx):
    shop, customer, ticket = shop_with_a_ticket(shops, worker)
    ctx.work_queued.clear()

    twilio_text(sim, shop, phone_of(customer), "Here it is", [media(png((40, 30)), "image/png")])

    assert ctx.work_queued.is_set()
    assert worker.drain() == 1


def test_help_wakes_the_worker_to_send_the_answer(shops, sim, worker, ctx, live_server):
    shop, customer, ticket = shop_with_a_ticket(shops, worker)
    ctx.work_queued.clear()
    url = live_server.url + TWILIO_INBOUND
    form = twilio_form(shop, phone_of(customer), "help")  # no OptOutType: Twilio has not answered it

    assert post_twilio(url, form, signature(TWILIO_TOKEN, url, form)).status_code == 200

    assert ctx.work_queued.is_set()
    assert worker.drain() == 1
