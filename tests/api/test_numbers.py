"""A shop manages its own (Flowroute) numbers; numbers on the built-in Twilio account are the operator's."""

from __future__ import annotations

from support.inbound import twilio_text
from support.shops import fresh_number


def test_a_shop_cannot_claim_or_drop_platform_numbers(shops, sim, ctx):
    shop = shops.create()
    other = shops.create(name="Other")
    own = fresh_number()
    r = shop.api.patch("/api/v1/shop", json={"numbers": [shop.number, own]})
    assert r.status_code == 200 and r.json()["numbers"] == [shop.number, own]
    r = shop.api.patch("/api/v1/shop", json={"numbers": [own]})
    assert r.status_code == 422 and "ask the operator" in r.json()["errors"][0]["message"]
    r = shop.api.patch("/api/v1/shop", json={"numbers": [shop.number, own, other.number]})
    assert r.status_code == 422 and r.json()["errors"][0]["message"].endswith("is not available; if the number is yours, contact support")
    assert "another shop" not in r.text, r.text
    # A number the shop typed in is not on the platform account: Twilio texts to it reach nobody's inbox.
    sim.post("/_sim/twilio/numbers", {"number": own, "sms_url": f"{ctx.settings.public_url}/webhooks/twilio/inbound"})
    twilio_text(sim, shop, fresh_number(), "hello?", to=own)          # the simulator delivers it, signed
    assert shop.api.get("/api/v1/inbox").json() == []
    twilio_text(sim, shop, fresh_number(), "hello?")                  # to the shop's platform number: kept
    assert [m["body"] for m in shop.api.get("/api/v1/inbox").json()] == ["hello?"]
