"""Idempotency-Key on the requests that text a customer or spend money (api.md): a repeat within 24 hours answers
the first result again and texts nobody again; the same key with another request is 422; a repeat while the first
is in flight is 409 (PostgreSQL) or waits for the first's answer (SQLite, one writer at a time). The key is
written in the work's own transaction, so a 5xx changed nothing and the retry is safe."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from sqlalchemy import create_engine, func, select, text, update
from support.inbound import customer_with_number, open_shop

from repairtext.adapters.db.models import Comment, IdempotencyKey, Message, Ticket

KEY = {"Idempotency-Key": "3f1c1a52-6a4e-4a43-9d0c-5b7e0f1d9a11"}


def _count(ctx, model, *where) -> int:
    with ctx.db.reading() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def _texts(ctx, shop) -> list[str]:
    with ctx.db.reading() as session:
        return list(session.scalars(select(Message.trigger).where(Message.shop_id == shop.id,
                                                                  Message.direction == "outbound")))


@pytest.fixture
def desk(shops):
    shop = open_shop(shops, started=date.today() - timedelta(days=40))
    return shop, customer_with_number(shop)


def test_a_repeated_ticket_answers_the_first_result_and_texts_once(desk, ctx, sim, worker):
    shop, customer = desk
    body = {"customer_id": customer["id"], "subject": "Pixel 8 screen", "problem": "Lines"}
    first = shop.api.post("/api/v1/tickets", json=body, headers=KEY)
    again = shop.api.post("/api/v1/tickets", json=body, headers=KEY)
    assert first.status_code == again.status_code == 201
    assert again.content == first.content and again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    worker.drain()
    assert _count(ctx, Ticket) == 1 and _texts(ctx, shop) == ["initial_problem"]
    assert len(sim.messages()) == 1
    # without a key every request is its own
    assert shop.api.post("/api/v1/tickets", json=body).status_code == 201
    assert _count(ctx, Ticket) == 2


def test_a_repeated_comment_and_status_change_text_once(desk, ctx, sim, worker):
    shop, customer = desk
    ticket = shop.ticket(customer["id"])
    url = f"/api/v1/tickets/{ticket['id']}"
    comment = {"body": "Ordered the panel", "sms_body": "Your screen arrives Tuesday"}
    first = shop.api.post(f"{url}/comments", json=comment, headers={"Idempotency-Key": "c-1"})
    again = shop.api.post(f"{url}/comments", json=comment, headers={"Idempotency-Key": "c-1"})
    assert first.status_code == again.status_code == 201 and again.json() == first.json()
    assert first.json()["sms_body"] == "Your screen arrives Tuesday"
    status = {"status": "Ready for Pickup"}
    first = shop.api.patch(url, json=status, headers={"Idempotency-Key": "s-1"})
    again = shop.api.patch(url, json=status, headers={"Idempotency-Key": "s-1"})
    assert first.status_code == again.status_code == 200 and again.json() == first.json()
    worker.drain()
    assert _count(ctx, Comment, Comment.author == "staff") == 1
    assert sorted(_texts(ctx, shop)) == ["comment", "initial_problem", "status:Ready for Pickup"]
    assert len(sim.messages()) == 3


def test_the_same_key_with_another_request_is_422_and_does_nothing(desk, ctx):
    shop, customer = desk
    ticket = shop.ticket(customer["id"])
    body = {"customer_id": customer["id"], "subject": "First"}
    assert shop.api.post("/api/v1/tickets", json=body, headers=KEY).status_code == 201
    for method, path, other in [("POST", "/api/v1/tickets", {**body, "subject": "Second"}),
                                ("POST", f"/api/v1/tickets/{ticket['id']}/comments", {"body": "x", "sms_body": "y"}),
                                ("POST", "/api/v1/credits/addons", None)]:
        response = shop.api.request(method, path, json=other, headers=KEY)
        assert response.status_code == 422, response.text
        assert [e["field"] for e in response.json()["errors"]] == ["Idempotency-Key"]
    assert _count(ctx, Ticket) == 2 and _count(ctx, Comment, Comment.author == "staff") == 0
    assert shop.credits()["addon_remaining"] == 0


def test_keys_belong_to_one_shop_and_last_24_hours(desk, shops, ctx):
    shop, customer = desk
    other = open_shop(shops, name="Other")
    other_customer = customer_with_number(other)
    assert shop.api.post("/api/v1/tickets", json={"customer_id": customer["id"], "subject": "A"},
                         headers=KEY).status_code == 201
    theirs = other.api.post("/api/v1/tickets", json={"customer_id": other_customer["id"], "subject": "B"}, headers=KEY)
    assert theirs.status_code == 201 and "Idempotent-Replayed" not in theirs.headers
    with ctx.db.transaction() as session:
        session.execute(update(IdempotencyKey).values(created_at=datetime.now(UTC) - timedelta(hours=25)))
    later = shop.api.post("/api/v1/tickets", json={"customer_id": customer["id"], "subject": "A"}, headers=KEY)
    assert later.status_code == 201 and "Idempotent-Replayed" not in later.headers
    assert _count(ctx, Ticket) == 3
    assert _count(ctx, IdempotencyKey, IdempotencyKey.shop_id == shop.id) == 1  # its expired key was cleared


def test_a_key_that_is_no_printable_token_is_422(desk):
    shop, customer = desk
    for key in ("has space", "x" * 201):
        response = shop.api.post("/api/v1/tickets", json={"customer_id": customer["id"], "subject": "A"},
                                 headers={"Idempotency-Key": key})
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == "Idempotency-Key"


def test_a_5xx_changed_nothing_and_the_retry_does_the_work_once(desk, ctx, sim, worker, database_url):
    """A fault injected at the database (a trigger refusing the key's row) fails the request after the work was
    done in its transaction: the ticket and its text must be rolled back with it."""
    shop, customer = desk
    engine = create_engine(database_url)
    sqlite = engine.dialect.name == "sqlite"
    with engine.begin() as conn:
        if sqlite:
            conn.execute(text("CREATE TRIGGER refuse_key BEFORE INSERT ON idempotency_keys "
                              "BEGIN SELECT RAISE(ABORT, 'injected fault'); END"))
        else:
            conn.execute(text("CREATE FUNCTION refuse_key() RETURNS trigger AS $$ BEGIN "
                              "RAISE EXCEPTION 'injected fault'; END $$ LANGUAGE plpgsql"))
            conn.execute(text("CREATE TRIGGER refuse_key BEFORE INSERT ON idempotency_keys "
                              "FOR EACH ROW EXECUTE FUNCTION refuse_key()"))
    body = {"customer_id": customer["id"], "subject": "Pixel 8 screen"}
    try:
        # A connection of its own: uvicorn may reset a kept-alive connection after an unhandled error.
        failed = httpx.post(shop.api.base_url.join("/api/v1/tickets"), json=body,
                            headers={**KEY, "Authorization": f"Bearer {shop.api_key}"}, timeout=30)
        assert failed.status_code == 500
        assert _count(ctx, Ticket) == 0 and _texts(ctx, shop) == []
    finally:
        with engine.begin() as conn:
            conn.execute(text("DROP TRIGGER refuse_key" + ("" if sqlite else " ON idempotency_keys")))
            if not sqlite:
                conn.execute(text("DROP FUNCTION refuse_key()"))
        engine.dispose()
    retried = shop.api.post("/api/v1/tickets", json=body, headers=KEY)
    assert retried.status_code == 201
    worker.drain()
    assert _count(ctx, Ticket) == 1 and len(sim.messages()) == 1


def _at_once(count: int, call) -> list:
    start, results = threading.Barrier(count), [None] * count

    def run(i: int) -> None:
        start.wait()
        results[i] = call()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_concurrent_repeats_make_one_ticket_and_one_text(desk, ctx, sim, worker):
    shop, customer = desk
    body = {"customer_id": customer["id"], "subject": "Pressed twice"}
    answers = _at_once(6, lambda: shop.api.post("/api/v1/tickets", json=body, headers=KEY))
    statuses = sorted(r.status_code for r in answers)
    assert set(statuses) <= {201, 409} and 201 in statuses, statuses
    assert len({r.content for r in answers if r.status_code == 201}) == 1
    worker.drain()
    assert _count(ctx, Ticket) == 1 and len(sim.messages()) == 1


def test_concurrent_comments_each_answer_their_own_comment(desk):
    """The answer is built in the comment's own transaction, not re-read afterwards (which could pick another's)."""
    shop, customer = desk
    ticket = shop.ticket(customer["id"])
    bodies = [f"note {i}" for i in range(6)]
    counter = iter(range(6))
    lock = threading.Lock()

    def post():
        with lock:
            i = next(counter)
        return i, shop.api.post(f"/api/v1/tickets/{ticket['id']}/comments", json={"body": bodies[i]})

    answers = _at_once(6, post)
    for i, response in answers:
        assert response.status_code == 201 and response.json()["body"] == bodies[i]


def test_a_repeat_while_the_first_is_in_flight(desk, ctx, database_url):
    """The first request is held inside its transaction (the shop's credit balance is locked by someone else)."""
    shop, customer = desk
    body = {"customer_id": customer["id"], "subject": "In flight"}
    engine = create_engine(database_url)
    sqlite = engine.dialect.name == "sqlite"
    holder = engine.connect()
    if sqlite:
        holder.exec_driver_sql("BEGIN IMMEDIATE")  # every writer waits
    else:
        holder.execute(text("SELECT * FROM credit_balances WHERE shop_id = :s FOR UPDATE"), {"s": shop.id})
    first: list = []
    thread = threading.Thread(target=lambda: first.append(shop.api.post("/api/v1/tickets", json=body, headers=KEY)))
    thread.start()
    try:
        if sqlite:
            time.sleep(0.3)
            second: list = []
            waiting = threading.Thread(target=lambda: second.append(
                shop.api.post("/api/v1/tickets", json=body, headers=KEY)))
            waiting.start()
            time.sleep(0.3)
        else:
            deadline = time.monotonic() + 10
            while not holder.execute(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")).scalar():
                assert time.monotonic() < deadline, "the first request never took its key"
                time.sleep(0.02)
            repeat = shop.api.post("/api/v1/tickets", json=body, headers=KEY, timeout=5)
            assert repeat.status_code == 409, repeat.text
            assert "still being handled" in repeat.json()["detail"]
    finally:
        holder.rollback()
        holder.close()
        engine.dispose()
    thread.join(timeout=30)
    assert first[0].status_code == 201
    if sqlite:
        waiting.join(timeout=30)
        assert second[0].status_code == 201 and second[0].content == first[0].content
    after = shop.api.post("/api/v1/tickets", json=body, headers=KEY)
    assert after.status_code == 201 and after.content == first[0].content
    assert _count(ctx, Ticket) == 1


def test_a_repeated_addon_purchase_answers_the_first_and_buys_once(desk, ctx):
    shop, _ = desk
    first = shop.api.post("/api/v1/credits/addons", headers={"Idempotency-Key": "order-1"})
    again = shop.api.post("/api/v1/credits/addons", headers={"Idempotency-Key": "order-1"})
    assert first.status_code == again.status_code == 201 and again.content == first.content
    assert set(first.json()) == {"id", "credits", "price_cents", "created_at"}
    assert shop.credits()["addon_remaining"] == 2500
