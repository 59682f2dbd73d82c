"""The Initial Problem text of a typical ticket costs one credit: a short portal link (/p/ and 12 characters,
72 random bits) and a default worded to fit one segment. Old /portal/<token> links keep working."""

from __future__ import annotations

import re

import httpx
from support.inbound import customer_with_number, open_shop


def test_a_typical_initial_problem_text_is_one_segment_with_a_short_working_link(shops, worker, sim):
    shop = open_shop(shops, name="Fix-It Phone Repair")
    customer = customer_with_number(shop, name="Jennifer Lawrence-Smith")
    ticket = shop.ticket(customer["id"], subject="iPhone 14 cracked screen")
    [text] = shop.messages(ticket_id=ticket["id"])
    assert (text["segments"], text["credits"], text["encoding"]) == (1, 1, "GSM-7"), text["body"]
    link = re.search(r"https?://\S+/p/([A-Za-z0-9_-]{12})\b", text["body"])
    assert link and ticket["portal_url"].endswith(f"/p/{link.group(1)}")
    assert text["body"].startswith("Hi Jennifer, Fix-It Phone Repair has repair #")

    short = httpx.get(ticket["portal_url"], timeout=10)
    assert short.status_code == 200 and "iPhone 14 cracked screen" in short.text
    long_form = ticket["portal_url"].replace("/p/", "/portal/")
    assert httpx.get(long_form, timeout=10).status_code == 200
    tokens = {shop.ticket(customer["id"])["portal_url"].rsplit("/", 1)[1] for _ in range(20)}
    assert len(tokens) == 20 and all(len(t) == 12 for t in tokens)


def test_a_wrong_short_link_is_a_404_and_counts_as_a_miss(shops, live_server):
    shop = open_shop(shops)
    assert httpx.get(f"{live_server.url}/p/AAAAAAAAAAAA", timeout=10).status_code == 404
    assert shop is not None
