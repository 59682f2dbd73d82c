"""Template bombs: a shop's template costs at most a text's worth of work, whatever the shop writes.

A template that could grow past the bounds is refused when saved or previewed (422 naming the problem); one saved
before the bounds existed refuses that one text at send time; rendering itself is bounded while it runs; and one
shop doing its worst does not slow another shop's requests.
"""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
import time
import tracemalloc

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
            assert elapsed < 1.0, (name, method, elapsed)  # the unbounded bomb took 2 s and 1.2 GB
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


def test_a_filter_failing_on_a_shops_values_is_a_422_not_a_500(shops):
    shop = shops.create()
    ticket = shop.ticket(shop.customer("Jane Cooper")["id"])
    for body, expected in {"{{ customer.name | sum }}": "cannot render: sum: cannot take this value",
                           "{{ ticket.subject | base64_decode }}": "cannot render: "}.items():
        r = shop.api.post("/api/v1/templates/preview", json={"body": body, "ticket_id": ticket["id"]})
        assert _problem(r).startswith(expected), (body, r.text)


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
    assert time.monotonic() - started < 1.0
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
        # The work bound, or (tracemalloc slows every call, more on a slow machine) the CPU bound first.
        WORK_BOMB: ("more work than one text may take", "longer than one text may take"),
    }
    for source, expected in cases.items():
        tracemalloc.start()
        started = time.thread_time()  # this thread's CPU: the work done, whatever else the machine runs
        try:
            sandbox.from_string(source).render(**variables)
            raise AssertionError(f"rendered: {source[:60]}")
        except TemplateTooCostly as exc:
            wanted = expected if isinstance(expected, tuple) else (expected,)
            assert any(w in str(exc) for w in wanted), (expected, str(exc))
        finally:
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        assert time.thread_time() - started < 0.5, source[:60]
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


def _flood_while_measuring(live_server, attacker, requests, bystander, seconds: float = 1.5):
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
    # in turns with the bombs (three rounds) so that both see the same background load.
    seen: dict[str, list[float]] = {"ordinary": [], "bombs": []}
    answered: dict[str, list] = {"ordinary": [], "bombs": []}
    for kind, requests in (("ordinary", ordinary), ("bombs", bombs)) * 3:
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
    # The bombs took 2 s each and slowed B from 3 ms to 678 ms (the unbounded sandbox here: timeouts and
    # reset connections). These bounds break long before that; on a busy shared machine, where any flood slows B,
    # they allow twice what the same flood of ordinary previews costs.
    assert bombs["answers"] < max(0.25, 2 * ordinary["answers"] + 0.02), (ordinary, bombs)
    assert bombs["B"] < max(0.15, 2 * ordinary["B"] + 0.02), (ordinary, bombs)


# --- The save check is sound: what it lets through renders within the bounds for any ticket -------------------

# name: (fewest, most) arguments, and whether the first ones are counts
_FILTERS_WITH_ARGS = {
    "replace": (1, 2, False), "replace_first": (1, 2, False), "replace_last": (2, 2, False),
    "append": (1, 1, False), "prepend": (1, 1, False), "join": (0, 1, False), "split": (1, 1, False),
    "truncate": (0, 2, True), "truncatewords": (0, 2, True), "slice": (1, 2, True), "remove": (1, 1, False),
    "default": (0, 1, False), "times": (1, 1, True), "plus": (1, 1, True), "date": (1, 1, False),
}
_FILTERS_BARE = ["upcase", "downcase", "capitalize", "escape", "escape_once", "escapejs", "url_encode", "url_decode",
                 "base64_encode", "base64_decode", "newline_to_br", "strip_newlines", "strip_html", "strip", "squish",
                 "size", "first", "last", "reverse", "sort", "sort_natural", "uniq", "compact", "sum", "abs"]
_VARIABLES = ["customer.first_name", "customer.name", "ticket.number", "ticket.subject", "ticket.status",
              "ticket.problem", "ticket.portal_url", "shop.name", "shop.phone"]
# Characters that make filters grow most: escapes, multi-byte, case expansion, newlines, separators.
_NASTY = ["a", "&", '"', "\n", " ", "%", "ﬃ", "ß", "😀", "<", ",", "İ"]


def _argument(draw, count: bool):
    from hypothesis import strategies as st

    kind = draw(st.sampled_from(["int"] if count else ["string", "string", "int", "variable"]))
    if kind == "int":
        return str(draw(st.integers(min_value=-5, max_value=5000)))
    if kind == "variable":
        return draw(st.sampled_from(_VARIABLES))
    longest = draw(st.sampled_from([1, 3, 40]))
    return "'" + draw(st.text(alphabet=st.sampled_from(_NASTY), max_size=longest)) + "'"


def _templates():
    from hypothesis import strategies as st

    @st.composite
    def template(draw):
        outputs = []
        for _ in range(draw(st.integers(min_value=1, max_value=4))):
            chain = [draw(st.sampled_from(_VARIABLES + ["ticket.problem", "ticket.problem", "'aaaa'", "'&😀ﬃ'"]))]
            for _ in range(draw(st.integers(min_value=0, max_value=8))):
                name = draw(st.sampled_from(list(_FILTERS_WITH_ARGS) + _FILTERS_BARE))
                fewest, most, counts = _FILTERS_WITH_ARGS.get(name, (0, 0, False))
                args = [_argument(draw, counts and i == 0) for i in range(draw(st.integers(fewest, most)))]
                chain.append(f"{name}: {', '.join(args)}" if args else name)
            if draw(st.booleans()):
                chain.append("size")  # so that long values are tried, not refused as too long a text
            outputs.append("{{ " + " | ".join(chain) + " }}")
        return " ".join(outputs)

    return template()


def _worst_case_variables(fill: str) -> dict:
    from repairtext.services.template_bounds import VARIABLE_CHARS

    def longest(name: str) -> str:
        return (fill * VARIABLE_CHARS[name])[: VARIABLE_CHARS[name]]

    return {
        "customer": {"first_name": longest("customer.first_name"), "name": longest("customer.name")},
        "ticket": {"number": 2_147_483_647, "subject": longest("ticket.subject"), "status": longest("ticket.status"),
                   "problem": longest("ticket.problem"), "portal_url": longest("ticket.portal_url")},
        "shop": {"name": longest("shop.name"), "phone": longest("shop.phone")},
    }


def test_what_the_save_check_lets_through_renders_within_the_bounds():
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from liquid.exceptions import LiquidError

    from repairtext.domain.errors import ValidationFailed
    from repairtext.services.template_bounds import TemplateTooCostly
    from repairtext.services.templates import check_template

    @settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
    @given(_templates(), st.data())
    def check(source, data):
        try:
            template = check_template(source)
        except ValidationFailed:
            return
        # Variables made of what the template looks for (its literals) grow most under its replace filters.
        literals = [text for text in re.findall(r"'([^']*)'", source) if text]
        fill = data.draw(st.sampled_from(literals) if literals and data.draw(st.booleans())
                         else st.text(alphabet=st.sampled_from(_NASTY), min_size=1, max_size=6))
        try:
            template.render(**_worst_case_variables(fill))
        except TemplateTooCostly as exc:
            raise AssertionError(f"saved, yet {exc.message}: {source}") from None
        except LiquidError:
            pass  # a type error for these values, say; not a bound

    check()


def _filter_result_and_bound(name: str, value: object, args: list[tuple[object, bool]]):
    """What filter `name` makes of `value` (None if it refuses it), and the save check's bound for it."""
    from repairtext.services.template_bounds import _STRING_FILTERS, RULES, Arg, size_of
    from repairtext.services.templates import sandbox

    func = sandbox.filters[name].__wrapped__  # the filter itself, without the runtime bounds
    kwargs = {"environment": sandbox} if getattr(func, "with_environment", False) else {}
    try:
        result = func(value, *[a for a, _ in args], **kwargs)
    except Exception:  # noqa: BLE001 - whatever a filter refuses a value with, it did not grow it
        return None, 0
    n = size_of(value)
    seen = 4 * n + 2 if isinstance(value, list) and name in _STRING_FILTERS else n
    return result, RULES[name](seen, [Arg(len(a) if isinstance(a, str) else size_of(a), a if literal else None)
                                      for a, literal in args])


def test_every_filter_rule_bounds_what_its_filter_makes_on_the_worst_values():
    """The save check's rules, filter by filter, against the filters themselves on values made to grow."""
    from repairtext.services.template_bounds import RULES, size_of

    failures = []
    for name in sorted(RULES):
        for c in _NASTY:
            for value in (c * 300, [c] * 100, [c * 5] * 40, [None] * 50, c + "a" * 299):
                for args in ([], [""], [c], [c * 3], ["x" * 12], [c, "y" * 12], ["", "z" * 12], ["z" * 12, c],
                             [c, ""], [5], [0], [400], [1, c * 12], [0, "..."], [2, ""]):
                    for literal in (True, False):
                        result, bound = _filter_result_and_bound(name, value, [(a, literal) for a in args])
                        if result is not None and size_of(result) > bound:
                            failures.append((name, value[:3], args, literal, size_of(result), bound))
    assert not failures, failures[:10]


def test_every_filter_rule_bounds_what_its_filter_makes_on_mixed_values():
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from repairtext.services.template_bounds import RULES, size_of

    text = st.text(alphabet=st.sampled_from(_NASTY), max_size=300)
    values = st.one_of(text, st.lists(text, max_size=30), st.integers(-10**30, 10**30),
                       st.floats(allow_nan=False), st.none())
    arguments = st.one_of(st.text(alphabet=st.sampled_from(_NASTY), max_size=12), st.integers(-5, 400))

    @settings(max_examples=800, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(sorted(RULES)), values, st.lists(st.tuples(arguments, st.booleans()), max_size=2))
    def check(name, value, args):
        result, bound = _filter_result_and_bound(name, value, args)
        assert result is None or size_of(result) <= bound, (name, value, args, size_of(result), bound)

    check()
