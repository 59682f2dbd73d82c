"""The customer pages over real HTTP: the list with search and its position, a customer's page (tickets, texts,
phones with each number's opt-out, the texting verdict), the edit form (errors by the row, the API's own
checks, back to where it came from), a customer made from an inbox text, and nothing of another shop."""

from __future__ import annotations

import re
from html import unescape

import httpx
from support.inbound import customer_with_number, inbox, open_shop, phone_of, twilio_text
from support.shops import fresh_number

from repairtext.services import opt_outs


def _error_of(html: str, field: str) -> str:
    match = re.search(rf'id="{field}-error"[^>]*>([^<]*)<', html)
    return unescape(match.group(1)) if match else ""


def listed_names(html: str) -> list[str]:
    return [unescape(n) for n in re.findall(r'<a class="row-link" href="/customers/\d+">([^<]*)</a>', html)]


def _local(e164: str) -> str:
    """+12065550134 -> (206) 555-0134, as the pages write it."""
    digits = e164[2:]
    return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"


def test_the_list_searches_by_name_or_phone_and_pages_with_its_position(shops, staff):
    shop, other = shops.create(name="A"), shops.create(name="B")
    for i in range(53):
        shop.customer(f"Customer {i:02d}", phones=[])
    ana = customer_with_number(shop, name="Ana Ruiz")
    stopped = customer_with_number(shop, name="Stella Stop")
    opt_outs_writer(shops, shop, phone_of(stopped))
    other.customer("Ana Other-Shop")
    web = staff(shop)

    first = web.get("/customers").text
    assert len(listed_names(first)) == 50 and listed_names(first)[0] == "Ana Ruiz"
    assert "1–50 of 55" in first
    next_page = unescape(re.search(r'href="(/customers\?[^"]*cursor=[^"]+)"', first).group(1))
    second = web.get(next_page).text
    assert "51–55 of 55" in second and listed_names(second)[-1] == "Stella Stop"
    assert re.search(r'Stella Stop</a> <span class="badge tone-red">Opted out</span>', second)

    found = web.http.get("/customers", params={"q": "ruiz"}).text
    assert listed_names(found) == ["Ana Ruiz"] and "1–1 of 1" in found
    assert _local(phone_of(ana)) in found and '<span class="tag">mobile</span>' in found
    by_phone = web.http.get("/customers", params={"q": "1-" + phone_of(ana)[2:5] + "." + phone_of(ana)[5:]}).text
    assert listed_names(by_phone) == ["Ana Ruiz"]
    assert listed_names(web.http.get("/customers", params={"q": "Other-Shop"}).text) == []  # never another shop's
    assert "No customer matches" in web.http.get("/customers", params={"q": "nobody like this"}).text
    assert len(listed_names(web.get("/customers?cursor=garbage").text)) == 50  # a mangled cursor starts over


def opt_outs_writer(shops, shop, number: str, source: str = opt_outs.KEYWORD) -> None:
    """An opt-out recorded by the one writer, as a STOP or the carrier's 21610 would."""
    ctx = shops.ctx
    with ctx.db.transaction() as session:
        opt_outs.do_opt_out(session, shop.id, number, ctx.clock.now(), source)


def test_a_customers_page_shows_their_tickets_texts_phones_and_each_numbers_opt_out(shops, staff, sim, worker):
    shop = open_shop(shops, time_zone="UTC")
    early = fresh_number()
    twilio_text(sim, shop, early, "STOP")  # before anyone has the number
    rosa = shop.customer("Rosa Diaz", phones=[{"number": early, "type": "mobile"},
                                              {"number": fresh_number(), "type": "home"},
                                              {"number": (carrier := fresh_number()), "type": "work"}])
    opt_outs_writer(shops, shop, carrier, opt_outs.CARRIER)
    jane = customer_with_number(shop, name="Jane Cooper")
    tickets = [shop.ticket(jane["id"], subject=f"Repair {i}") for i in range(12)]
    shop.ticket(rosa["id"], subject="Rosa's tablet")
    worker.drain()
    twilio_text(sim, shop, phone_of(jane), f"#{tickets[3]['number']} any news?")
    web = staff(shop)

    page = unescape(web.get(f"/customers/{rosa['id']}").text)
    assert "<h1>Rosa Diaz</h1>" in page and "Rosa's tablet" in page and not re.search(r">Repair \d+<", page)
    stop = re.search(r"Texted STOP on <time[^>]*>(\d{1,2} \w{3} \d{4} \d{2}:\d{2})</time>, before this customer was added", page)
    assert stop, page
    assert "The carrier reported the number opted out" in page
    assert page.count('<span class="badge tone-red">Opted out</span>') == 2  # the STOP number and the carrier's
    assert "Cannot text: Rosa Diaz replied STOP on" in page
    assert "SMS <strong>enabled</strong>" in page

    page = unescape(web.get(f"/customers/{jane['id']}").text)
    shown = re.findall(r'href="/tickets/(\d+)">Repair (\d+)</a>', page)
    assert len(shown) == 10 and shown[0][1] == "3"  # newest activity first: the ticket she just texted about
    assert "All 12 tickets" in page and f"/tickets?customer_id={jane['id']}&show=all" in page
    assert "#" + str(tickets[3]["number"]) + " any news?" in page  # her text, both ways
    assert f"Text to {_local(phone_of(jane))}" in page
    assert f"Will text {_local(phone_of(jane))}." in page
    listed = web.get(f"/tickets?customer_id={jane['id']}&show=all").text
    assert len(re.findall(r'<a class="row-link" href="/tickets/\d+">Repair', listed)) == 12
    assert "Rosa's tablet" not in listed and "Only the tickets of" in listed


def test_editing_a_customer_checks_each_phone_on_its_row_and_saves_what_the_api_saves(shops, staff):
    shop = shops.create()
    home = fresh_number()
    rosa = shop.customer("Rosa Diaz", phones=[{"number": home, "type": "home"},
                                              {"number": (work := fresh_number()), "type": "work"}],
                         email="rosa@example.com")
    web = staff(shop)
    form = web.get(f"/customers/{rosa['id']}/edit").text
    assert f'value="{_local(home)}"' in form and 'id="phone_2"' in form  # both phones, and a row to add one
    url = f"/customers/{rosa['id']}/edit"

    bad = web.submit(url, name="Rosa Diaz", email="rosa@example.com", sms_enabled="on",
                     phone_0=_local(home), phone_type_0="pager", phone_1="12", phone_type_1="work",
                     phone_2="", phone_type_2="mobile")
    assert bad.status_code == 422
    assert "unknown phone type 'pager'" in _error_of(bad.text, "phone_type_0")
    assert "not a valid phone number" in _error_of(bad.text, "phone_1")
    assert _error_of(bad.text, "phone_0") == "" and _error_of(bad.text, "name") == ""
    assert 'value="12"' in bad.text  # what was typed comes back
    bad = web.submit(url, name=" ", email="nope", phone_0=_local(home), phone_type_0="home")
    assert "name" in _error_of(bad.text, "name").lower() and "email address" in _error_of(bad.text, "email")
    assert shop.api.get(f"/api/v1/customers/{rosa['id']}").json()["phones"] == rosa["phones"]  # nothing saved

    # Removing row 0 shifts the list the service sees; an error on the new phone still lands on its own row.
    bad = web.submit(url, name="Rosa Diaz", phone_0=_local(home), phone_type_0="home", remove_phone_0="on",
                     phone_1=_local(work), phone_type_1="work", phone_2="555", phone_type_2="mobile")
    assert "not a valid phone number" in _error_of(bad.text, "phone_2") and _error_of(bad.text, "phone_1") == ""

    new = fresh_number()
    saved = web.submit(url, name="Rosa M. Diaz", email="", phone_0=_local(home), phone_type_0="mobile",
                       phone_1=_local(work), phone_type_1="work", remove_phone_1="on",
                       phone_2="+1 " + new[2:], phone_type_2="other")
    assert saved.status_code == 303 and saved.headers["location"] == f"/customers/{rosa['id']}"
    assert "Saved Rosa M. Diaz." in web.follow(saved).text
    after = shop.api.get(f"/api/v1/customers/{rosa['id']}").json()
    assert after["name"] == "Rosa M. Diaz" and after["email"] is None and after["sms_enabled"] is False
    assert after["phones"] == [{"number": home, "type": "mobile"}, {"number": new, "type": "other"}]

    more = web.submit(url, name="Rosa", phone_0=_local(home), phone_type_0="mobile", phone_1="", more_phones="1")
    assert more.status_code == 200 and 'id="phone_2"' in more.text and 'id="phone_3"' not in more.text
    assert shop.api.get(f"/api/v1/customers/{rosa['id']}").json()["name"] == "Rosa M. Diaz"  # nothing saved

    forged = web.http.post(url, data={"name": "Forged", "phone_0": _local(home), "phone_type_0": "mobile"})
    assert forged.status_code == 403
    assert shop.api.get(f"/api/v1/customers/{rosa['id']}").json()["name"] == "Rosa M. Diaz"


def test_the_warnings_fix_link_leads_to_the_phones_and_saving_comes_back_to_the_ticket(shops, staff):
    shop = shops.create()
    number = fresh_number()
    rosa = shop.customer("Rosa Diaz", phones=[{"number": number, "type": "home"}])
    ticket = shop.ticket(rosa["id"])
    web = staff(shop)
    page = unescape(web.get(f"/tickets/{ticket['id']}").text)
    fix = f"/customers/{rosa['id']}/edit?next=%2Ftickets%2F{ticket['id']}#phones"
    warning = "Cannot text: Rosa Diaz has no phone typed mobile (only home); mark a phone as mobile."
    assert f'{warning} <a href="{fix}">Fix the phones</a>' in page

    form = web.get(fix.split("#")[0]).text
    assert f'name="next" value="/tickets/{ticket["id"]}"' in form and 'id="phones"' in form
    saved = web.submit(f"/customers/{rosa['id']}/edit", name="Rosa Diaz", sms_enabled="on", phone_0=_local(number),
                       phone_type_0="mobile", next=f"/tickets/{ticket['id']}")
    assert saved.headers["location"] == f"/tickets/{ticket['id']}"
    assert "Cannot text" not in web.follow(saved).text

    for elsewhere in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"):
        answer = web.submit(f"/customers/{rosa['id']}/edit", name="Rosa Diaz", sms_enabled="on",
                            phone_0=_local(number), phone_type_0="mobile", next=elsewhere)
        assert answer.headers["location"] == f"/customers/{rosa['id']}", elsewhere
    assert "evil" not in web.get(f"/customers/{rosa['id']}/edit?next=//evil.example").text


def test_a_customer_made_from_an_inbox_text_gets_it_and_their_next_texts(shops, staff, sim):
    shop = open_shop(shops)
    stranger = fresh_number()
    twilio_text(sim, shop, stranger, "Hi, is my iPad done?")
    waiting = inbox(shop)[0]
    web = staff(shop)
    listing = unescape(web.get("/inbox").text)
    link = f"/customers/new?phone=%2B{stranger[1:]}&from_inbox={waiting['id']}"
    assert f'href="{link}">New customer with this number</a>' in listing

    form = unescape(web.get(link).text)
    assert f'value="{_local(stranger)}"' in form and '<option value="mobile" selected>' in form
    assert "“Hi, is my iPad done?”" in form
    made = web.submit("/customers/new", name="Ivy Park", sms_enabled="on", phone_0=_local(stranger),
                      phone_type_0="mobile", phone_1="", phone_type_1="mobile", from_inbox=str(waiting["id"]),
                      open_ticket="on")
    assert made.status_code == 303, made.text
    location = made.headers["location"]
    assert location.startswith("/tickets?customer=") and f"from_inbox={waiting['id']}" in location
    ivy_id = int(re.search(r"customer=(\d+)", location).group(1))
    assert inbox(shop)[0]["customer_id"] == ivy_id  # the waiting text is hers now
    assert "New customer with this number" not in web.get("/inbox").text

    ticket_form = unescape(web.follow(made).text)
    assert "The text from " + _local(stranger) in ticket_form and f'name="from_inbox" value="{waiting["id"]}"' in ticket_form
    assert f"Will text {_local(stranger)}." in ticket_form
    opened = web.submit("/tickets", customer_id=str(ivy_id), subject="iPad screen", from_inbox=str(waiting["id"]))
    assert opened.status_code == 303
    ticket_id = int(opened.headers["location"].rsplit("/", 1)[1])
    assert "placed the text on it" in web.follow(opened).text
    assert inbox(shop) == []
    comments = [c["body"] for c in shop.comments(ticket_id) if c["author"] == "customer"]
    assert comments == ["Hi, is my iPad done?"]

    twilio_text(sim, shop, stranger, "Great, thanks")  # now routes like any customer's reply
    assert [c["body"] for c in shop.comments(ticket_id) if c["author"] == "customer"][-1] == "Great, thanks"
    assert inbox(shop) == []


def test_a_customer_made_from_the_inbox_can_go_straight_back_to_it(shops, staff, sim):
    shop = open_shop(shops)
    stranger = fresh_number()
    twilio_text(sim, shop, stranger, "Hello?")
    waiting = inbox(shop)[0]
    web = staff(shop)
    made = web.submit("/customers/new", name="Ivy Park", phone_0=_local(stranger), phone_type_0="mobile",
                      from_inbox=str(waiting["id"]))
    assert made.headers["location"] == f"/inbox#inbox-{waiting['id']}"
    back = unescape(web.follow(made).text)
    assert "Added Ivy Park." in back and "New customer with this number" not in back
    assert inbox(shop)[0]["customer_id"] is not None

    plain = web.submit("/customers/new", name="Walk In", phone_0="", phone_type_0="mobile")
    assert plain.status_code == 303 and re.fullmatch(r"/customers/\d+", plain.headers["location"])
    bad = web.submit("/customers/new", name="", phone_0="nope", phone_type_0="mobile")
    assert bad.status_code == 422 and "not a phone number" in _error_of(bad.text, "phone_0")


def test_the_new_ticket_form_says_whether_the_customer_can_be_texted(shops, staff, ctx):
    shop = shops.create()
    jane = customer_with_number(shop, name="Jane Cooper")
    rosa = shop.customer("Rosa Diaz", phones=[{"number": fresh_number(), "type": "home"}])
    quiet = customer_with_number(shop, name="Quiet Quinn", sms_enabled=False)
    web = staff(shop)

    assert "Choose a customer to see whether they can be texted." in web.get("/tickets").text
    assert f"Will text {_local(phone_of(jane))}." in unescape(web.get(f"/tickets?customer={jane['id']}").text)
    page = unescape(web.get(f"/tickets?customer_id={rosa['id']}").text)
    fix = f"/customers/{rosa['id']}/edit?next=%2Ftickets%3Fcustomer%3D{rosa['id']}%23open-ticket#phones"
    warning = "Cannot text: Rosa Diaz has no phone typed mobile (only home); mark a phone as mobile."
    assert f'{warning} <a href="{fix}">Fix the phones</a>' in page
    assert "Cannot text: SMS is turned off for Quiet Quinn." in unescape(web.get(f"/tickets?customer={quiet['id']}").text)

    # Without JavaScript: "Check texting" shows the verdict and keeps what was typed; nothing is opened.
    checked = web.submit("/tickets", customer_id=str(rosa["id"]), subject="Typed already", check="1")
    assert checked.status_code == 200 and "Cannot text: Rosa Diaz has no phone typed mobile" in unescape(checked.text)
    assert 'value="Typed already"' in checked.text
    assert shop.api.get("/api/v1/tickets").json()["items"] == []

    verdict = web.http.get(f"/ui/customers/{jane['id']}/texting").json()
    assert verdict == {"can_text": True, "to": phone_of(jane), "message": f"Will text {_local(phone_of(jane))}",
                       "code": None, "fix_url": None, "fix_label": None}
    verdict = web.http.get(f"/ui/customers/{rosa['id']}/texting", params={"back": "/tickets"}).json()
    assert verdict["can_text"] is False and verdict["code"] == "no_mobile"
    assert verdict["fix_url"] == f"/customers/{rosa['id']}/edit?next=%2Ftickets#phones"
    assert web.http.get(f"/ui/customers/{rosa['id']}/texting", params={"back": "//evil"}).json()["fix_url"] == \
        f"/customers/{rosa['id']}/edit#phones"
    signed_out = httpx.get(f"{web.http.base_url}/ui/customers/{jane['id']}/texting")
    assert signed_out.status_code == 401


def test_editing_a_ticket_from_its_page(shops, staff):
    shop = shops.create()
    jane, marcus = customer_with_number(shop, name="Jane Cooper"), customer_with_number(shop, name="Marcus Lee")
    ticket = shop.ticket(jane["id"], subject="Pixel screen", problem="Cracked")
    web = staff(shop)
    page = web.get(f"/tickets/{ticket['id']}").text
    assert f'href="/tickets/{ticket["id"]}/edit">Edit ticket</a>' in page
    form = web.get(f"/tickets/{ticket['id']}/edit").text
    assert 'value="Pixel screen"' in form and f'<option value="{jane["id"]}" selected>' in form
    found = web.http.get(f"/tickets/{ticket['id']}/edit", params={"find": "marcus"}).text
    assert f'<option value="{marcus["id"]}"' in found and f'<option value="{jane["id"]}" selected>' in found

    url = f"/tickets/{ticket['id']}/edit"
    bad = web.submit(url, subject="  ", problem="x", customer_id=str(jane["id"]))
    assert bad.status_code == 422 and "subject" in _error_of(bad.text, "subject").lower()
    bad = web.submit(url, subject="Pixel 8 screen", problem="x", customer_id="abc")
    assert bad.status_code == 422 and _error_of(bad.text, "customer_id") == "Choose the customer this ticket is for"
    assert shop.api.get(f"/api/v1/tickets/{ticket['id']}").json()["subject"] == "Pixel screen"

    saved = web.submit(url, subject="Pixel 8 screen", problem="Cracked, and the frame is bent",
                       customer_id=str(marcus["id"]))
    assert saved.headers["location"] == f"/tickets/{ticket['id']}"
    shown = unescape(web.follow(saved).text)
    assert "Saved ticket #" in shown and "Pixel 8 screen" in shown and "the frame is bent" in shown
    assert "Moved from Jane Cooper to Marcus Lee by Sam Owner." in shown
    after = shop.api.get(f"/api/v1/tickets/{ticket['id']}").json()
    assert (after["subject"], after["customer_id"]) == ("Pixel 8 screen", marcus["id"])


def test_another_shops_customers_and_tickets_are_not_found_from_the_pages(shops, staff):
    shop, other = shops.create(name="A"), shops.create(name="B")
    ours = customer_with_number(shop, name="Ours")
    our_ticket = shop.ticket(ours["id"], subject="Our ticket")
    theirs = customer_with_number(other, name="Theirs Secret")
    their_ticket = other.ticket(theirs["id"], subject="Their ticket")
    web = staff(shop)

    for path in (f"/customers/{theirs['id']}", f"/customers/{theirs['id']}/edit", f"/tickets/{their_ticket['id']}/edit"):
        answer = web.get(path)
        assert answer.status_code == 404 and "Theirs Secret" not in answer.text, path
    assert web.http.get(f"/ui/customers/{theirs['id']}/texting").status_code == 404
    posted = web.submit(f"/customers/{theirs['id']}/edit", name="Hacked", phone_0=phone_of(theirs), phone_type_0="home")
    assert posted.status_code == 404
    posted = web.submit(f"/tickets/{their_ticket['id']}/edit", subject="Hacked", customer_id=str(ours["id"]))
    assert posted.status_code == 404
    moved = web.submit(f"/tickets/{our_ticket['id']}/edit", subject="Our ticket", customer_id=str(theirs["id"]))
    assert moved.status_code == 422 and f"no customer {theirs['id']} in this shop" in _error_of(moved.text, "customer_id")
    assert "Theirs Secret" not in moved.text

    assert "Theirs Secret" not in web.get("/customers").text
    assert "Their ticket" not in web.get(f"/tickets?customer_id={theirs['id']}&show=all").text
    assert "Theirs Secret" not in web.get(f"/tickets?customer={theirs['id']}").text
    assert other.api.get(f"/api/v1/customers/{theirs['id']}").json()["name"] == "Theirs Secret"
    assert other.api.get(f"/api/v1/tickets/{their_ticket['id']}").json()["customer_id"] == theirs["id"]
