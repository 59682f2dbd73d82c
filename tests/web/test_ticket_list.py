"""The ticket list staff work from: most recent activity first, a reply on an old ticket brings it to the top
marked "Needs reply" with its count in the navigation, filters and search in the query string, pages of 50
with their position."""

from __future__ import annotations

import re

from support.inbound import customer_with_number, open_shop, phone_of, twilio_text


def listed_numbers(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr[^>]*>\s*<td class="num">(\d+)</td>', html)]


def test_a_reply_on_the_oldest_of_many_tickets_is_on_top_and_counted(shops, staff, sim):
    shop = open_shop(shops)
    ana = customer_with_number(shop, name="Ana Ruiz")
    oldest = shop.ticket(ana["id"], subject="Pixel screen")
    other = customer_with_number(shop, name="Bo Chen")
    for i in range(55):
        shop.ticket(other["id"], subject=f"Laptop {i}")
    web = staff(shop)

    first = web.get("/tickets").text
    assert len(listed_numbers(first)) == 50 and oldest["number"] not in listed_numbers(first)
    assert re.search(r"1–50 of 56", first)
    next_page = re.search(r'href="(/tickets\?[^"]*cursor=[^"]+)"', first).group(1).replace("&amp;", "&")
    second = web.get(next_page).text
    assert listed_numbers(second)[-1] == oldest["number"] and "51–56 of 56" in second
    assert 'id="needs-reply-count"' not in first

    twilio_text(sim, shop, phone_of(ana), "Is it fixed?")
    top = web.get("/tickets").text
    assert listed_numbers(top)[0] == oldest["number"]
    assert "Needs reply</span>" in top
    assert re.search(r'id="needs-reply-count"[^>]*>1<', top)
    assert listed_numbers(web.get("/tickets?needs_reply=1").text) == [oldest["number"]]
    assert listed_numbers(web.get("/tickets?q=ruiz").text) == [oldest["number"]]
    assert listed_numbers(web.get(f"/tickets?q=%23{oldest['number']}").text) == [oldest["number"]]
    assert "No ticket matches" in web.get("/tickets?q=nothing-like-this").text
    assert len(listed_numbers(web.get("/tickets?cursor=garbage").text)) == 50  # a mangled cursor starts over
