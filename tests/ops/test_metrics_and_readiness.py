"""/metrics moves by exactly what happened; /readyz tells a database at head from one that is not."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from support.credentials import TWILIO_TOKEN
from support.inbound import TWILIO_INBOUND, customer_with_number, open_shop, post_twilio, signature, twilio_form
from support.shops import eventually

from repairtext.adapters.db.migrate import upgrade
from repairtext.bootstrap import build_context
from repairtext.entrypoints.app import create_app


def scrape(base_url: str, **headers) -> dict[tuple[str, tuple], float]:
    response = httpx.get(f"{base_url}/metrics", headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.text) for sample in family.samples}


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_count_exactly_what_happened(shops, live_server, worker):
    shop = open_shop(shops)
    customer = customer_with_number(shop)
    before = scrape(live_server.url)

    ticket = shop.ticket(customer["id"])
    queued = scrape(live_server.url)
    assert value(queued, "repairtext_outbox_depth") == value(before, "repairtext_outbox_depth") + 1
    sent = shop.messages(ticket_id=ticket["id"])[0]
    assert value(queued, "repairtext_credits_debited_total") - value(before, "repairtext_credits_debited_total") \
        == sent["credits"] > 0

    worker.drain()
    drained = scrape(live_server.url)
    assert value(drained, "repairtext_outbox_depth") == 0
    assert value(drained, "repairtext_outbox_oldest_seconds") == 0
    texts = "repairtext_texts_total"
    assert value(drained, texts, provider="twilio", status="accepted") \
        - value(before, texts, provider="twilio", status="accepted") == 1
    delivered = eventually(lambda: (v := value(scrape(live_server.url), texts, provider="twilio", status="delivered"))
                           > value(before, texts, provider="twilio", status="delivered") and v)
    assert delivered - value(before, texts, provider="twilio", status="delivered") == 1

    url = live_server.url + TWILIO_INBOUND
    for body in ("Thanks", "See you soon", "ok"):
        form = twilio_form(shop, customer["phones"][0]["number"], body)
        assert post_twilio(url, form, signature(TWILIO_TOKEN, url, form)).status_code == 200
    forged = twilio_form(shop, customer["phones"][0]["number"], "forged")
    assert post_twilio(url, forged, "bad-signature").status_code == 403
    after = scrape(live_server.url)
    count = "repairtext_webhook_seconds_count"
    assert value(after, count, provider="twilio", kind="inbound") - value(before, count, provider="twilio", kind="inbound") == 4


def test_invented_webhook_paths_do_not_grow_the_series(app, live_server):
    for n in range(5):
        httpx.post(f"{live_server.url}/webhooks/made-up-{n}/x-{n}", timeout=10)
    names = {labels for (name, labels) in scrape(live_server.url) if name == "repairtext_webhook_seconds_count"}
    assert names == {(("kind", "other"), ("provider", "other"))}


def test_metrics_token_is_required_when_set(settings, live_server):
    from dataclasses import replace

    ctx = build_context(replace(settings, metrics_token="m" * 32))
    live_server.serve(create_app(ctx, inline_worker=False))
    try:
        assert httpx.get(f"{live_server.url}/metrics", timeout=10).status_code == 401
        assert httpx.get(f"{live_server.url}/metrics", headers={"Authorization": "Bearer wrong"}, timeout=10).status_code == 401
        assert "repairtext_outbox_depth" in {n for n, _ in scrape(live_server.url, Authorization="Bearer " + "m" * 32)}
    finally:
        live_server.serve(None)
        ctx.close()


def test_ready_when_the_database_is_at_head(app, live_server):
    response = httpx.get(f"{live_server.url}/readyz", timeout=10)
    assert response.status_code == 200, response.text
    assert response.json()["ready"] is True


def test_not_ready_when_migrations_are_behind(settings, live_server, tmp_path, database_template):
    from dataclasses import replace

    if database_template[0] != "sqlite":
        pytest.skip("an older schema is made on a SQLite file; the PostgreSQL run checks the unreachable case")
    old = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(old, "0001")
    ctx = build_context(replace(settings, database_url=old))
    live_server.serve(create_app(ctx, inline_worker=False))
    try:
        response = httpx.get(f"{live_server.url}/readyz", timeout=10)
        assert response.status_code == 503
        assert "repairtext migrate" in response.json()["migrations"]
    finally:
        live_server.serve(None)
        ctx.close()


def test_not_ready_when_the_database_is_unreachable(settings, live_server):
    from dataclasses import replace

    unreachable = "postgresql+psycopg://postgres@127.0.0.1:1/nothing?connect_timeout=1"
    ctx = build_context(replace(settings, database_url=unreachable))
    live_server.serve(create_app(ctx, inline_worker=False))
    try:
        response = httpx.get(f"{live_server.url}/readyz", timeout=20)
        assert response.status_code == 503
        assert response.json()["database"].startswith("unreachable")
    finally:
        live_server.serve(None)
        ctx.close()
