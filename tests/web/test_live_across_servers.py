"""Live pages across server processes (PostgreSQL): the staff page open on one `repairtext serve` process
follows what another process committed. The customer's reply and the delivery receipt are posted to server B;
the conversation open in Chromium on server A shows both within 2 s, without a reload."""

from __future__ import annotations

import dataclasses
import os

import pytest
from support.inbound import customer_with_number, open_shop, phone_of, twilio_text
from support.processes import server_processes
from test_browser import browser, sign_in  # noqa: F401  (the module's Chromium fixture; sign-in in one place)

from repairtext.bootstrap import build_context
from repairtext.services.worker import Worker

ONE_PROCESS = ("SQLite is served by one process: its events reach only the process that committed them (no "
               "LISTEN/NOTIFY), so there is no second server to follow")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("REPAIRTEXT_TEST_DATABASE", "sqlite") != "postgresql", reason=ONE_PROCESS),
]


def test_a_reply_and_a_receipt_posted_to_one_server_show_on_a_page_served_by_another(
        browser, shops, sim, settings, tmp_path):  # noqa: F811
    from playwright.sync_api import expect

    shop = open_shop(shops)
    ana = customer_with_number(shop, name="Ana Ruiz")
    ticket = shop.ticket(ana["id"], subject="Pixel screen")
    with server_processes(settings, [tmp_path / "a.log", tmp_path / "b.log"]) as (server_a, server_b):
        # Server B is where Twilio calls: the shop number's webhook, and the texts' status callbacks (the worker
        # that sends them names B's public URL). Its first two callbacks are held back, to be posted on cue.
        sim.post("/_sim/twilio/numbers", {"number": shop.number, "sms_url": f"{server_b}/webhooks/twilio/inbound"})
        sim.post("/_sim/faults", {"provider": "twilio", "kind": "drop_callbacks", "count": 2})
        sender_ctx = build_context(dataclasses.replace(settings, public_url=server_b))
        sender = Worker(sender_ctx, name="test-sender", concurrency=1)
        try:
            sender.drain()
        finally:
            sender.close()
            sender_ctx.close()
        [text] = sim.messages()
        assert text["status_callback"].startswith(server_b)

        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = sign_in(context, server_a, shop)
        page.goto(f"{server_a}/tickets/{ticket['id']}")
        expect(page.locator("body[data-live=on]")).to_have_count(1, timeout=5000)
        badge = page.locator("#live-timeline .sms-outbound .badge").first
        expect(badge).to_have_text("accepted")
        page.evaluate("window.notReloaded = true")

        twilio_text(sim, shop, phone_of(ana), "Is it ready yet?")
        expect(page.locator("#live-timeline")).to_contain_text("Is it ready yet?", timeout=2000)
        expect(page.locator("#live-ticket-head")).to_contain_text("Customer Reply", timeout=2000)

        receipt = sim.post(f"/_sim/messages/{text['id']}/status", {"status": "delivered"})["callback"]
        assert receipt["url"].startswith(server_b) and receipt["http_status"] == 204
        expect(badge).to_have_text("delivered", timeout=2000)
        assert page.evaluate("window.notReloaded") is True
        [reply] = [c for c in sim.get("/_sim/callbacks", kind="inbound")]
        assert reply["url"].startswith(server_b) and reply["http_status"] == 200
        context.close()
