"""Template bombs: a shop's template costs at most a text's worth of work, whatever the shop writes.

A template that could grow past the bounds is refused when saved or previewed (422 naming the problem); one saved
before the bounds existed refuses that one text at send time; rendering itself is bounded while it runs; and one
shop doing its worst does not slow another shop's requests.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
import tracemalloc

import httpx

# The bomb: eight nested `replace` filters, each 10x the last (a billion characters from 257).
REPLACE_BOMB = "{{ \"aaaaaaaaaa\"" + ' | replace: "a", "aaaaaaaaaa"' * 8 + " }}"
BOMBS = {
    "replace": REPLACE_BOMB,
    "replace with an empty search": "{{ shop.name" + ' | replace: "", "xxxxxxxxxx"' * 8 + " }}",
    "split and join": "{{ ticket.subject" + ' | split: "" | join: "xxxxxxxxxx"' * 6 + " }}",
    "base64": "{{ ticket.problem" + " | base64_encode" * 90 + " }}",
    "appending the longest variable": "{{ ticket.problem" + " | append: ticket.problem" * 40 + " }}",
    "repeating the longest variable": "{{ ticket.problem }}" * 60,
    "url_encode of escapes": "{{ ticket.problem" + " | escape | url_encode" * 30 + " }}",
}
# Filters that keep sizes flat but would each sort the longest list a template can build.
WORK_BOMB = "{{ ticket.problem | split: '' " + "| sort_natural " * 90 + "| size }}"


def _problem(response) -> str:
    assert response.status_code == 422, (response.status_code, response.text[:300])
    [error] = response.json()["errors"]
    assert error["field"] == "body"
    return error["message"]


def test_bombs_are_refused_when_saved_or_previewed_and_fast(shops):
    shop = shops.create()
    ticket = shop.ticket(shop.customer()["id"])
    assert len(REPLACE_BOMB) <= 257
    for name, body in {**BOMBS, "work": WORK_BOMB}.items():
        for method, path, payload in (("PUT", "/api/v1/templates/status:Resolved", {"body": body}),
                                      ("POST", "/api/v1/templates/preview", {"body": body, "ticket_id": ticket["id"]})):
            started = time.monotonic()
            response = shop.api.request(method, path, json=payload)
            elapsed = time.monotonic() - started
            message = _problem(response)
            assert elapsed < 0.5, (name, method, elapsed)
            if name == "work":
                assert "more work than one text may take" in message, message
            else:
                assert "can produce more than" in message, (name, message)
    # Nothing was saved: the default stands.
    listed = {t["trigger"]: t for t in shop.api.get("/api/v1/templates").json()}
    assert listed["status:Resolved"]["is_default"] is True


def test_the_refusal_names_the_line_the_filter_and_the_limit(shops):
    shop = shops.create()
    r = shop.api.put("/api/v1/templates/initial_problem", json={"body": "Hi {{ customer.first_name }}\n" + REPLACE_BOMB})
    assert _problem(r) == ("line 2: 'replace' can produce more than 40,000 characters "
                           "(the most any value in a text may hold)")
    r = shop.api.put("/api/v1/templates/initial_problem", json={"body": "We got it: {{ ticket.problem }}"})
    assert _problem(r) == ("the template can produce more than 4,800 characters (the most a text may hold); "
                           "shorten long variables, e.g. {{ ticket.problem | truncate: 300 }}")


def test_ordinary_templates_still_save_and_render(shops):
    shop = shops.create()
    ticket = shop.ticket(shop.customer("Jane Cooper")["id"], problem="Dropped it\nin the sink")
    body = ("Hi {{ customer.first_name | upcase }}, #{{ ticket.number }}: "
            "{{ ticket.problem | strip_newlines | replace: 'sink', 'bath' | truncate: 300 }} "
            "{{ customer.name | split: ' ' | join: '-' }}")
    assert shop.api.put("/api/v1/templates/initial_problem", json={"body": body}).status_code == 200
    r = shop.api.post("/api/v1/templates/preview", json={"body": body, "ticket_id": ticket["id"]})
    assert r.status_code == 200 and r.json()["text"] == "Hi JANE, #1: Dropped itin the bath Jane-Cooper"


def _saved_before_the_bounds(ctx, shop_id: int, trigger: str, body: str) -> None:
    """What a template saved before this check existed looks like: stored without passing the save check."""
    from sqlalchemy import select

    from repairtext.adapters.db.models import SmsTemplate

    with ctx.db.transaction() as session:
        row = session.scalar(select(SmsTemplate).where(SmsTemplate.shop_id == shop_id, SmsTemplate.trigger == trigger))
        row.body = body


def test_a_bomb_saved_before_the_bounds_refuses_only_that_text(shops, ctx, sim, worker):
    shop = shops.create()
    _saved_before_the_bounds(ctx, shop.id, "initial_problem", REPLACE_BOMB)
    _saved_before_the_bounds(ctx, shop.id, "status:Ready for Pickup", "{{ customer.first_name | append: ")
    started = time.monotonic()
    ticket = shop.ticket(shop.customer("Jane Cooper")["id"])   # the ticket opens (201) all the same
    assert time.monotonic() - started < 0.5
    [message] = shop.messages(ticket_id=ticket["id"])
    assert message["status"] == "rejected" and message["error_code"] == "template_failed"
    assert message["error"] == ("the initial_problem template cannot be used: line 1: 'replace' can produce more "
                                "than 40,000 characters (the most any value in a text may hold)")
    [note] = [c for c in shop.comments(ticket["id"]) if c["author"] == "system"]
    assert note["public"] is False and note["body"] == f"Not texted: {message['error']}."

    r = shop.api.patch(f"/api/v1/tickets/{ticket['id']}", json={"status": "Ready for Pickup"})
    assert r.status_code == 200 and r.json()["status"] == "Ready for Pickup"
    refused = [m for m in shop.messages(ticket_id=ticket["id"]) if m["trigger"] == "status:Ready for Pickup"]
    assert [m["status"] for m in refused] == ["rejected"]
    assert refused[0]["error"].startswith("the status:Ready for Pickup template cannot be used: line 1")
    assert refused[0]["credits"] == 0
    worker.drain()
    assert sim.messages() == []
    # The shop's other texts are untouched by its broken templates.
    r = shop.api.post(f"/api/v1/tickets/{ticket['id']}/comments", json={"body": "", "sms_body": "Ready when you are"})
    assert r.status_code == 201
    worker.drain()
    assert [m["body"] for m in sim.messages()] == ["Ready when you are"]


def test_rendering_is_bounded_while_it_runs_without_the_save_check():
    """Defence in depth: the sandbox's own filters refuse to build what the save check would have refused."""
    from repairtext.services.template_bounds import TemplateTooCostly
    from repairtext.services.templates import sandbox

    variables = {"customer": {"first_name": "Ann", "name": "Ann Lee"}, "shop": {"name": "Fix", "phone": "1"},
                 "ticket": {"number": 1, "subject": "a" * 200, "status": "New", "problem": "x" * 10_000,
                            "portal_url": "http://x/portal/t"}}
    cases = {
        REPLACE_BOMB.replace(" }}", " | size }}"): "'replace' can produce more than 40,000 characters",
        BOMBS["split and join"].replace(" }}", " | size }}"): "can produce more than 40,000 characters",
        BOMBS["base64"].replace(" }}", " | size }}"): "can produce more than 40,000 characters",
        BOMBS["repeating the longest variable"]: "the text would be more than 4,800 characters",
        WORK_BOMB: "more work than one text may take",
    }
    for source, expected in cases.items():
        tracemalloc.start()
        started = time.monotonic()
        try:
            sandbox.from_string(source).render(**variables)
            raise AssertionError(f"rendered: {source[:60]}")
        except TemplateTooCostly as exc:
            assert expected in str(exc), (expected, str(exc))
        finally:
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        assert time.monotonic() - started < 0.5, source[:60]
        assert peak < 5_000_000, (source[:60], peak)


# Shop A's client runs in its own process, as an attacker's would: its threads do not share the server's GIL.
FLOOD = """
import json, sys, threading, time
import httpx
url, key, requests, seconds, threads = json.loads(sys.argv[1])
answers, lock = [], threading.Lock()
def run(offset):
    with httpx.Client(base_url=url, timeout=10, headers={"Authorization": "Bearer " + key}) as http:
        http.get("/api/v1/shop")
        barrier.wait()
        n, stop = offset, time.monotonic() + seconds
        while time.monotonic() < stop:
            method, path, body = requests[n % len(requests)]
            started = time.monotonic()
            try:
                status = http.request(method, path, json=body).status_code
            except httpx.HTTPError as exc:  # the service fell over (what the unbounded sandbox did)
                status = repr(exc)
            with lock:
                answers.append((status, time.monotonic() - started))
            n += 1
barrier = threading.Barrier(threads + 1)
workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
for w in workers:
    w.start()
barrier.wait()
print("go", flush=True)
for w in workers:
    w.join()
print(json.dumps(answers), flush=True)
"""


def _flood_while_measuring(live_server, attacker, requests, bystander, seconds: float = 2.0):
    """Shop A sends `requests` from 4 connections for `seconds`; meanwhile shop B's GET /shop latencies."""
    flood = subprocess.Popen([sys.executable, "-c", FLOOD, json.dumps([live_server.url, attacker.api_key, requests,
                                                                       seconds, 4])],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert flood.stdout.readline().strip() == "go"
        latencies, deadline = [], time.monotonic() + seconds
        while time.monotonic() < deadline:
            started = time.monotonic()
            r = bystander.api.get("/api/v1/shop", timeout=10)
            latencies.append(time.monotonic() - started)
            assert r.status_code == 200 and r.json()["name"] == "Bystander"
            time.sleep(0.01)
        answers = json.loads(flood.stdout.readline())
    finally:
        flood.wait(timeout=30)
    return latencies, answers


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def test_one_shop_doing_its_worst_does_not_slow_another_shop(shops, live_server):
    attacker, bystander = shops.create(name="Attacker"), shops.create(name="Bystander")
    ticket = attacker.ticket(attacker.customer()["id"])
    for _ in range(10):
        bystander.api.get("/api/v1/shop")   # warm up connections and caches
    bombs = []
    for body in [*BOMBS.values(), WORK_BOMB]:
        bombs += [["PUT", "/api/v1/templates/initial_problem", {"body": body}],
                  ["POST", "/api/v1/templates/preview", {"body": body, "ticket_id": ticket["id"]}]]
    ordinary = [["POST", "/api/v1/templates/preview",
                 {"body": "Hi {{ customer.first_name }}, #{{ ticket.number }} is in.", "ticket_id": ticket["id"]}]]
    # The machine is shared: B's latency under the same flood of ordinary previews is the yardstick, measured
    # in turns with the bombs so both see the same background load.
    seen: dict[str, list[float]] = {"ordinary": [], "bombs": []}
    answered: dict[str, list] = {"ordinary": [], "bombs": []}
    for kind, requests in (("ordinary", ordinary), ("bombs", bombs)) * 2:
        latencies, answers = _flood_while_measuring(live_server, attacker, requests, bystander)
        seen[kind] += latencies
        answered[kind] += answers
    assert {status for status, _ in answered["ordinary"]} == {200}, answered["ordinary"][:5]
    assert len(answered["bombs"]) >= 20 and {status for status, _ in answered["bombs"]} == {422}, \
        answered["bombs"][:5]
    ordinary = {"answers": _p95([e for _, e in answered["ordinary"]]), "B": _p95(seen["ordinary"])}
    bombs = {"answers": _p95([e for _, e in answered["bombs"]]), "B": _p95(seen["bombs"])}
    print(f"p95 of A's answers: ordinary {ordinary['answers'] * 1000:.0f} ms, bombs {bombs['answers'] * 1000:.0f} "
          f"ms; of B's GET /shop meanwhile: {ordinary['B'] * 1000:.0f} ms, {bombs['B'] * 1000:.0f} ms", file=sys.stderr)
    # The bombs took 2 s each and slowed B from 3 ms to 678 ms; these bounds break long before that, and
    # on a shared, busy machine allow what the same flood of ordinary previews costs.
    assert bombs["answers"] < max(0.25, 1.5 * ordinary["answers"] + 0.02), (ordinary, bombs)
    assert bombs["B"] < max(0.15, 1.5 * ordinary["B"] + 0.02), (ordinary, bombs)
