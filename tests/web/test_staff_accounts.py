"""Staff accounts on the pages: owners invite (a one-time link), change roles and remove people; staff run the desk
but cannot manage the shop; every comment carries its writer's name; nothing crosses shops."""

from __future__ import annotations

import re
import threading

import httpx
from sqlalchemy import func, select
from support.web import SIGN_IN_NONCE

from repairtext.adapters.db.models import StaffAccount

LINK = re.compile(r'id="invite-link">([^<]+)<')


def accept(base_url: str, link: str, name: str, password: str = "a long enough password") -> httpx.Response:
    http = httpx.Client(base_url=base_url, follow_redirects=False, timeout=30)
    path = "/" + link.split("/", 3)[3]
    form = http.get(path)
    assert form.status_code == 200, form.text
    nonce = SIGN_IN_NONCE.search(form.text).group(1)
    answer = http.post(path, data={"name": name, "password": password, "signin_nonce": nonce})
    answer.http = http  # type: ignore[attr-defined]
    return answer


def test_an_owner_invites_a_colleague_who_joins_once_and_signs_their_comments(shops, staff, live_server):
    shop = shops.create()
    ticket = shop.ticket(shop.customer("Jane Cooper")["id"])
    owner = staff(shop)

    page = owner.submit("/settings/staff/invites", email="Tech@Shop.example", role="staff")
    assert page.status_code == 200 and "It works once, for 7 days" in page.text
    link = LINK.search(page.text).group(1)
    assert link.startswith(live_server.url + "/invite/")
    assert link not in owner.get("/settings/staff").text  # shown once, never again

    joined = accept(live_server.url, link, "Tina Tech")
    assert joined.status_code == 303 and joined.headers["location"] == "/tickets"
    tina = joined.http  # type: ignore[attr-defined]
    assert "Tina Tech" in tina.get("/settings/staff").text
    assert accept_again_is_gone(live_server.url, link)

    csrf = re.search(r'name="csrf" value="([^"]+)"', tina.get("/tickets").text).group(1)
    tina.post(f"/tickets/{ticket['id']}/comments", data={"csrf": csrf, "body": "Screen ordered."})
    owner.submit(f"/tickets/{ticket['id']}/comments", body="Thanks Tina.")
    by = {c["body"]: c["author_name"] for c in shop.comments(ticket["id"])}
    assert by["Screen ordered."] == "Tina Tech" and by["Thanks Tina."] == shop.owner.name
    conversation = owner.get(f"/tickets/{ticket['id']}").text
    assert '<strong class="author">Tina Tech</strong>' in conversation
    assert f'<strong class="author">{shop.owner.name}</strong>' in conversation

    shop.api.post(f"/api/v1/tickets/{ticket['id']}/comments", json={"body": "From the till app."})
    by = {c["body"]: c["author_name"] for c in shop.comments(ticket["id"])}
    assert by["From the till app."] == "First key"  # the API key's name


def accept_again_is_gone(base_url: str, link: str) -> bool:
    return httpx.get(base_url + "/" + link.split("/", 3)[3]).status_code == 404


def test_staff_cannot_manage_people_keys_settings_or_buy_and_nothing_changes(shops, staff):
    shop = shops.create()
    bob = shops.staff_account(shop.id, name="Bob Tech")
    web = staff(shop, email=bob.email)
    assert web.get("/tickets").status_code == 200 and web.get("/settings/staff").status_code == 200

    for path, fields in [("/settings/staff/invites", {"email": "x@example.com", "role": "owner"}),
                         (f"/settings/staff/{bob.id}/role", {"role": "owner"}),
                         (f"/settings/staff/{shop.owner.id}/remove", {}),
                         ("/settings/api-keys", {"key_name": "Mine"}),
                         ("/settings", {"provider": "twilio", "time_zone": "UTC"}),
                         ("/credits/addons", {})]:
        refused = web.submit(path, **fields)
        assert refused.status_code == 403 and "Only owners can do this" in refused.text, path
    assert [k["name"] for k in shop.api.get("/api/v1/shop/api-keys").json()] == ["First key"]
    assert shop.api.get("/api/v1/shop").json()["time_zone"] == "America/Chicago"
    assert "Create invitation link" not in web.get("/settings/staff").text
    assert "Save settings" not in web.get("/settings").text


def test_roles_change_but_a_shop_always_keeps_an_owner(shops, staff, ctx):
    shop = shops.create()
    bob = shops.staff_account(shop.id, name="Bob Tech")
    owner = staff(shop)

    alone = owner.follow(owner.submit(f"/settings/staff/{shop.owner.id}/role", role="staff"))
    assert "only owner" in alone.text
    assert owner.follow(owner.submit(f"/settings/staff/{shop.owner.id}/remove")).status_code == 200
    promoted = owner.follow(owner.submit(f"/settings/staff/{bob.id}/role", role="owner"))
    assert "Bob Tech is now an owner." in promoted.text
    assert "Bob Tech is now staff." in owner.follow(owner.submit(f"/settings/staff/{bob.id}/role", role="staff")).text
    with ctx.db.reading() as session:
        roles = dict(session.execute(select(StaffAccount.name, StaffAccount.role)
                                     .where(StaffAccount.shop_id == shop.id, StaffAccount.removed_at.is_(None))).all())
    assert roles == {"Sam Owner": "owner", "Bob Tech": "staff"}


def test_an_owner_cannot_touch_another_shops_people_or_invitations(shops, staff, ctx):
    a, b = shops.create(name="A"), shops.create(name="B")
    theirs = shops.staff_account(b.id, name="Bea Other")
    invite_page = staff(b).submit("/settings/staff/invites", email="newbie@b.example", role="staff")
    assert invite_page.status_code == 200
    web = staff(a)

    assert "Bea Other" not in web.get("/settings/staff").text and "newbie@b.example" not in web.get("/settings/staff").text
    for path, fields in [(f"/settings/staff/{theirs.id}/role", {"role": "owner"}),
                         (f"/settings/staff/{theirs.id}/remove", {}),
                         (f"/settings/staff/{b.owner.id}/remove", {})]:
        assert web.submit(path, **fields).status_code == 404, path
    with ctx.db.reading() as session:
        b_people = dict(session.execute(select(StaffAccount.name, StaffAccount.role)
                                        .where(StaffAccount.shop_id == b.id, StaffAccount.removed_at.is_(None))).all())
    assert b_people == {"Bea Other": "staff", "Sam Owner": "owner"}


def test_an_invitation_used_twice_at_once_makes_one_account(shops, staff, live_server, ctx):
    shop = shops.create()
    page = staff(shop).submit("/settings/staff/invites", email="twice@shop.example", role="staff")
    link = LINK.search(page.text).group(1)
    path = "/" + link.split("/", 3)[3]
    clients, nonces = [], []
    for _ in range(4):
        http = httpx.Client(base_url=live_server.url, follow_redirects=False, timeout=30)
        nonces.append(SIGN_IN_NONCE.search(http.get(path).text).group(1))
        clients.append(http)
    answers: list[int] = []
    gate = threading.Barrier(len(clients))

    def go(http, nonce):
        gate.wait()
        answers.append(http.post(path, data={"name": "Twice", "password": "a long enough password",
                                              "signin_nonce": nonce}).status_code)

    threads = [threading.Thread(target=go, args=pair) for pair in zip(clients, nonces, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers).count(303) == 1, answers
    with ctx.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(StaffAccount)
                              .where(StaffAccount.email == "twice@shop.example")) == 1


def test_joining_with_an_email_that_got_an_account_since_says_so(shops, staff, live_server):
    shop, elsewhere = shops.create(), shops.create(name="Other Shop")
    page = staff(shop).submit("/settings/staff/invites", email="tina@shop.example", role="staff")
    link = LINK.search(page.text).group(1)
    shops.staff_account(elsewhere.id, name="Tina Tech", email="tina@shop.example")

    refused = accept(live_server.url, link, "Tina Tech")
    assert refused.status_code == 422
    assert 'id="email-error" role="alert">this email already has an account: sign in with it' in refused.text


def test_inviting_says_nothing_about_accounts_of_other_shops(shops, staff, live_server):
    """An owner learns whether an email works in their own shop, never whether it has an account elsewhere."""
    shop, elsewhere = shops.create(), shops.create(name="Other Shop")
    shops.staff_account(elsewhere.id, name="Ivy Else", email="ivy@else.example")
    colleague = shops.staff_account(shop.id, name="Bob Tech")
    owner = staff(shop)

    there = owner.submit("/settings/staff/invites", email="IVY@else.example", role="staff")
    nobody = owner.submit("/settings/staff/invites", email="nobody@else.example", role="staff")
    assert there.status_code == nobody.status_code == 200 and "It works once" in there.text
    here = owner.submit("/settings/staff/invites", email=colleague.email, role="staff")
    assert here.status_code == 422 and "already has an account here" in here.text
    # The link still cannot make a second account for the address: its owner is told when they open it.
    refused = accept(live_server.url, LINK.search(there.text).group(1), "Ivy Again")
    assert refused.status_code == 422 and "already has an account" in refused.text
