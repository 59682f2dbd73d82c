"""The consumables report through the API: its sums equal the ledger, in JSON and in CSV."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from repairtext.adapters.db.models import LedgerEntry


def test_report_sums_equal_the_ledger(shops, worker, ctx, sim):
    shop = shops.create(plan="repair_shop")
    customer = shop.customer()
    ticket = shop.ticket(customer["id"])
    shop.api.post(f"/api/v1/tickets/{ticket['id']}/comments", json={"body": "", "sms_body": "Parts are in 👍"})
    shop.api.patch(f"/api/v1/tickets/{ticket['id']}", json={"status": "Ready for Pickup"})
    sim.post("/_sim/faults", {"provider": "twilio", "kind": "twilio_error", "code": 21211, "count": 1})
    worker.drain()
    now = datetime.now(ZoneInfo("America/Chicago")).date()   # the shop's day, as the report counts it
    today = now.isoformat()
    window = {"from": (now - timedelta(days=40)).isoformat(), "to": (now + timedelta(days=40)).isoformat()}
    report = shop.api.get("/api/v1/reports/consumables", params=window).json()
    with ctx.db.transaction() as session:
        def total(kind, bucket=None):
            q = select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(LedgerEntry.shop_id == shop.id,
                                                                             LedgerEntry.kind == kind)
            if bucket:
                q = q.where(LedgerEntry.bucket == bucket)
            return session.scalar(q)
        granted, debited, refunded = total("grant"), -total("debit"), total("refund")
    months = report["months"]
    assert sum(m["granted"] for m in months) == granted == 200
    assert sum(m["monthly_used"] + m["addon_used"] for m in months) == debited - refunded
    assert sum(m["refunded"] for m in months) == refunded > 0          # the 21211 failure came back
    assert report["remaining"]["total"] == shop.credits()["total_remaining"] == 200 - (debited - refunded)
    month = next(m for m in months if m["texts"])
    assert set(month["by_trigger"]) == {"initial_problem", "comment", "status_template"}
    assert month["by_provider"] == {"twilio": month["segments"]}

    response = shop.api.get("/api/v1/reports/consumables", params={"from": today, "to": today, "format": "csv"})
    assert response.headers["content-type"].startswith("text/csv")
    [row] = list(csv.DictReader(io.StringIO(response.text)))
    assert row["date"] == today and int(row["granted"]) in (0, 200) and "comment=" in row["by_trigger"]


def test_report_refuses_a_reversed_range(shops):
    shop = shops.create()
    r = shop.api.get("/api/v1/reports/consumables", params={"from": "2026-11-10", "to": "2026-11-01"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "from"


def test_addon_purchase_over_the_api(shops):
    today = datetime.now(ZoneInfo("America/Chicago")).date()
    young = shops.create(started=today - timedelta(days=3))
    r = young.api.post("/api/v1/credits/addons")
    assert r.status_code == 409 and r.json()["available_from"] == (today + timedelta(days=27)).isoformat()
    old = shops.create(started=today - timedelta(days=40))
    before = old.credits()
    assert old.api.post("/api/v1/credits/addons").status_code == 201
    after = old.credits()
    assert after["addon_remaining"] == before["addon_remaining"] + 2500
    assert after["addons_available_from"] == (today - timedelta(days=10)).isoformat()


def test_a_retried_addon_purchase_with_the_same_key_buys_once(shops):
    today = datetime.now(ZoneInfo("America/Chicago")).date()
    shop = shops.create(started=today - timedelta(days=40))
    first = shop.api.post("/api/v1/credits/addons", headers={"Idempotency-Key": "order-42"})
    again = shop.api.post("/api/v1/credits/addons", headers={"Idempotency-Key": "order-42"})
    assert first.status_code == again.status_code == 201 and first.json()["id"] == again.json()["id"]
    assert shop.credits()["addon_remaining"] == 2500
    assert shop.api.post("/api/v1/credits/addons", headers={"Idempotency-Key": "order-43"}).status_code == 201
    assert shop.credits()["addon_remaining"] == 5000
