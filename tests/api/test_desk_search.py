"""Search at volume gives exactly what a plain scan of the shop gives: the same tickets in the same order page
after page, the same count, whether the indexes answer (few matches) or the list is walked (many), and never
another shop's rows, though another shop holds the very same tickets, names and phones. The rule scanned for:
three characters or more anywhere in a subject or name; two at the start of a word; one at the start."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select, text

from repairtext.adapters.db.models import Customer, CustomerPhone, Ticket
from repairtext.domain.search import like_pattern, parse_query
from repairtext.services import desk, desk_search

FIRST = ["Ana", "Bo", "Carla", "José", "Élodie", "Zoë", "Kai", "Lena", "Qxa"]
LAST = ["Chen"] * 5 + ["Okafor", "Núñez", "O'Brien", 'Say "Hi"', "50%_Off"]
SUBJECTS = ["iPhone 14 cracked screen", "Pixel 8 CRACKED SCREEN", "Galaxy battery", "MacBook water damage",
            "iPad 100% dead", "Switch joy_con drift", "ÉCRAN cassé", "PS5 HDMI port"]


def fill(ctx, shop_id: int, tickets: int, customers: int) -> None:
    """A shop (seeded, the same for every shop): half its tickets about screens and half its customers Chens,
    so those searches match more than DENSE and walk; ties in last activity, so the cursor's tie-break counts."""
    rng, now = random.Random(7), datetime(2026, 12, 1, 12, tzinfo=UTC)
    with ctx.db.transaction() as session:
        first_id = (session.scalar(select(Customer.id).order_by(Customer.id.desc()).limit(1)) or 0) + 1
        session.execute(insert(Customer), [dict(shop_id=shop_id, name=f"{rng.choice(FIRST)} {rng.choice(LAST)} {n}",
                                                sms_enabled=True, created_at=now) for n in range(customers)])
        ids = range(first_id, first_id + customers)
        session.execute(insert(CustomerPhone), [dict(shop_id=shop_id, customer_id=c, e164=f"+1206{2000000 + n:07d}",
                                                     type="mobile") for n, c in enumerate(ids)])
        rows = []
        for n in range(tickets):
            at = now - timedelta(minutes=rng.randint(0, tickets // 2))  # two tickets a minute: ties
            subject = SUBJECTS[0 if n % 2 else rng.randrange(1, len(SUBJECTS))]
            rows.append(dict(shop_id=shop_id, customer_id=rng.choice(ids), number=n + 1, subject=subject, problem="",
                             status=rng.choice(["New", "In Progress", "Waiting for Parts", "Resolved"]),
                             portal_token=f"s{shop_id}t{n}", created_at=at, updated_at=at, last_activity_at=at,
                             needs_reply=rng.random() < 0.05))
        session.execute(insert(Ticket), rows)


def text_rule(ctx, column: str, text_: str, params: dict) -> str:
    """What a term matches, as plain SQL: anywhere from three characters, else at the start of a word (two) or
    of the text (one)."""
    like = f"{column} {'LIKE' if ctx.db.is_sqlite else 'ILIKE'}"
    anywhere = like_pattern(text_)
    params.update(anywhere=anywhere, starting=anywhere.removeprefix("%"), word="% " + anywhere.removeprefix("%"))
    if len(text_) >= 3:
        return f"{like} :anywhere ESCAPE '\\'"
    word = f" OR {like} :word ESCAPE '\\'" if len(text_) == 2 else ""
    return f"({like} :starting ESCAPE '\\'{word})"


def plain_scan(ctx, shop_id: int, wanted: desk.TicketFilter) -> list[int]:
    """The search as a plain scan of every ticket of the shop, no index: what the desk did before."""
    terms = parse_query(wanted.q)
    conditions, params = ["1 = 0"], {"shop": shop_id}
    if terms.text is not None:
        conditions += [text_rule(ctx, "t.subject", terms.text, params), text_rule(ctx, "c.name", terms.text, params)]
    if terms.ticket_number is not None:
        conditions.append("t.number = :n")
        params["n"] = terms.ticket_number
    if terms.phone is not None:
        conditions.append("c.id IN (SELECT customer_id FROM customer_phones WHERE e164 = :phone)")
        params["phone"] = terms.phone
    if terms.phone_tail is not None:
        conditions.append("c.id IN (SELECT customer_id FROM customer_phones WHERE e164 LIKE :tail)")
        params["tail"] = "%" + terms.phone_tail
    filters = []
    if wanted.open is not None:
        filters.append("t.status <> 'Resolved'" if wanted.open else "t.status = 'Resolved'")
    if wanted.needs_reply is not None:
        filters.append("t.needs_reply = :needs_reply")
        params["needs_reply"] = wanted.needs_reply
    if wanted.status:
        filters.append("t.status = :status")
        params["status"] = wanted.status
    sql = (f"SELECT t.id FROM tickets t JOIN customers c ON c.id = t.customer_id WHERE t.shop_id = :shop "
           f"AND ({' OR '.join(conditions)}){''.join(' AND ' + f for f in filters)} "
           f"ORDER BY t.last_activity_at DESC, t.id DESC")
    with ctx.db.reading() as session:
        return list(session.scalars(text(sql), params))


def every_page(ctx, shop_id: int, wanted: desk.TicketFilter) -> tuple[list[int], int]:
    seen, cursor = [], None
    with ctx.db.reading() as session:
        count = desk.count_tickets(session, shop_id, wanted)
    while True:
        with ctx.db.reading() as session:
            page = desk.list_tickets(session, shop_id, wanted, limit=200, cursor=cursor)
            seen += [t.id for t in page.items]
        if (cursor := page.next_cursor) is None:
            return seen, count


DENSE_QUERIES = ["screen", "CHEN", "i", "ch", "ip"]
SPARSE_QUERIES = ["okafor 1", "núñez", "ÉCRAN", "écran", 'say "hi"', "50%_", "100%", "%", "o'brien 14", "joy_con",
                  "zq", "Qx", "ri", "#77", "77", "(206) 200-0077", "+1 206 200 0077", "0077", "200-0077",
                  "nothing like it"]
# Broad filters (desk.NARROW tickets or more here) are counted from the search's ids, narrower ones by a walk.
FILTERS = [desk.TicketFilter(), desk.TicketFilter(open=True), desk.TicketFilter(open=False),
           desk.TicketFilter(needs_reply=True), desk.TicketFilter(needs_reply=False),
           desk.TicketFilter(status="Waiting for Parts", open=True)]


def test_every_page_and_count_are_what_a_plain_scan_finds(ctx, shops):
    mine, theirs = shops.create(), shops.create()
    fill(ctx, mine.id, tickets=7000, customers=1500)
    fill(ctx, theirs.id, tickets=1000, customers=1500)  # the same customers, phones and first tickets
    found_something = 0
    for query in DENSE_QUERIES + SPARSE_QUERIES:
        with ctx.db.reading() as session:
            dense = desk_search.ticket_match(session, mine.id, parse_query(query)).dense
        assert dense is (query in DENSE_QUERIES), query  # both ways of reading are tried
        for base in FILTERS:
            wanted = desk.TicketFilter(q=query, open=base.open, needs_reply=base.needs_reply, status=base.status)
            expected = plain_scan(ctx, mine.id, wanted)
            got, count = every_page(ctx, mine.id, wanted)
            assert got == expected, (query, base)
            assert count == min(len(expected), desk.COUNT_UP_TO + 1), (query, base)
            assert not set(got) & set(plain_scan(ctx, theirs.id, wanted))
            found_something += bool(expected)
    assert found_something >= 0.7 * len(FILTERS) * (len(DENSE_QUERIES) + len(SPARSE_QUERIES))


def customer_scan(ctx, shop_id: int, query: str) -> list[int]:
    terms = parse_query(query)
    conditions, params = ["1 = 0"], {"shop": shop_id}
    if terms.text is not None:
        conditions.append(text_rule(ctx, "c.name", terms.text, params))
    if terms.phone is not None:
        conditions.append("c.id IN (SELECT customer_id FROM customer_phones WHERE e164 = :phone)")
        params["phone"] = terms.phone
    if terms.phone_tail is not None:
        conditions.append("c.id IN (SELECT customer_id FROM customer_phones WHERE e164 LIKE :tail)")
        params["tail"] = "%" + terms.phone_tail
    sql = f"SELECT c.id FROM customers c WHERE c.shop_id = :shop AND ({' OR '.join(conditions)}) ORDER BY c.name, c.id"
    with ctx.db.reading() as session:
        return list(session.scalars(text(sql), params))


def test_customers_are_what_a_plain_scan_finds(ctx, shops):
    mine, theirs = shops.create(), shops.create()
    fill(ctx, mine.id, tickets=100, customers=5000)
    fill(ctx, theirs.id, tickets=100, customers=5000)
    for query in ["chen", "ch", "okafor 1", "núñez", "zq", "0077", "2062000077", "#12"]:
        seen, cursor = [], None
        while True:
            with ctx.db.reading() as session:
                page = desk.list_customers(session, mine.id, query, limit=200, cursor=cursor)
            seen += [c.id for c in page.items]
            if (cursor := page.next_cursor) is None:
                break
        assert seen == customer_scan(ctx, mine.id, query), query
        assert (seen != []) is (query not in ("zq", "#12")), query
        assert not set(seen) & set(customer_scan(ctx, theirs.id, query))


def test_the_api_pages_a_dense_search_and_never_shows_another_shops_tickets(ctx, shops):
    mine, theirs = shops.create(), shops.create()
    fill(ctx, mine.id, tickets=5000, customers=1000)
    fill(ctx, theirs.id, tickets=5000, customers=1000)
    for query, shown in [("chen", "true"), ("#77", None), ("(206) 200-0077", None), ("0077", None),
                         ("okafor 1", "false")]:
        wanted = desk.TicketFilter(q=query, open=None if shown is None else shown == "true")
        expected = plain_scan(ctx, mine.id, wanted)
        seen, cursor = [], None
        while True:
            params = {"q": query, "limit": 200, **({"open": shown} if shown else {}), **({"cursor": cursor} if cursor else {})}
            response = mine.api.get("/api/v1/tickets", params=params)
            assert response.status_code == 200, response.text
            seen += [t["id"] for t in response.json()["items"]]
            if (cursor := response.json()["next_cursor"]) is None:
                break
        assert seen == expected and expected, query
        assert not set(seen) & set(plain_scan(ctx, theirs.id, wanted))


def test_odd_search_text_is_text_not_syntax(ctx, shops):
    """FTS5 operators, quotes, wildcards and control characters are characters to look for, never query syntax
    (and never a 500)."""
    shop = shops.create()
    fill(ctx, shop.id, tickets=300, customers=100)
    for query in ['x" OR "y', "NEAR(iphone screen)", "scr*", "^iph", "subject:screen", "-screen", "😀 screen",
                  "\x00screen", "scr\x07een", "''", "\\", "%%", "__", "a" * 100]:
        response = shop.api.get("/api/v1/tickets", params={"q": query, "limit": 200})
        assert response.status_code == 200, (query, response.text)
        wanted = desk.TicketFilter(q=parse_query(query).text if parse_query(query) else None)
        assert [t["id"] for t in response.json()["items"]] == plain_scan(ctx, shop.id, wanted)[:200], query
        assert shop.api.get("/api/v1/customers", params={"q": query}).status_code == 200, query
