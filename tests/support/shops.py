"""Readable test data: a shop with an API client, customers and tickets made through the real API."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from datetime import date

import httpx
from sqlalchemy import update

from repairtext.adapters.db.models import Shop, StaffAccount
from repairtext.services.shops import do_create_shop
from repairtext.services.staff import do_create_account

OWNER_PASSWORD = "correct horse battery staple"

_numbers = itertools.count(100)


def fresh_number() -> str:
    """A valid, unused North American number (555-01xx is reserved for fiction but not always 'valid')."""
    n = next(_numbers)
    return f"+1206{(2000000 + n * 7919) % 8000000 + 2000000:07d}"


@dataclass
class ShopHandle:
    id: int
    api_key: str
    number: str
    flowroute_token: str
    api: httpx.Client
    factory: ShopFactory | None = None
    _owner: StaffAccount | None = None

    @property
    def owner(self) -> StaffAccount:
        """The shop's first owner, who signs in to the pages with OWNER_PASSWORD. Made on first use: hashing a
        password with argon2 is slow on purpose, and most tests never open a page."""
        if self._owner is None:
            assert self.factory is not None
            self._owner = self.factory.staff_account(self.id, name="Sam Owner", role="owner")
        return self._owner

    @property
    def owner_email(self) -> str:
        return self.owner.email

    def customer(self, name: str = "Jane Cooper", phones: list[dict] | None = None, **extra) -> dict:
        phones = phones if phones is not None else [{"number": fresh_number(), "type": "mobile"}]
        response = self.api.post("/api/v1/customers", json={"name": name, "phones": phones, **extra})
        assert response.status_code == 201, response.text
        return response.json()

    def ticket(self, customer_id: int, subject: str = "Cracked screen", problem: str = "Dropped it") -> dict:
        response = self.api.post("/api/v1/tickets", json={"customer_id": customer_id, "subject": subject,
                                                          "problem": problem})
        assert response.status_code == 201, response.text
        return response.json()

    def messages(self, **params) -> list[dict]:
        response = self.api.get("/api/v1/messages", params=params)
        assert response.status_code == 200, response.text
        return response.json()

    def comments(self, ticket_id: int) -> list[dict]:
        response = self.api.get(f"/api/v1/tickets/{ticket_id}/comments")
        assert response.status_code == 200, response.text
        return response.json()

    def credits(self) -> dict:
        return self.api.get("/api/v1/credits").json()


class ShopFactory:
    def __init__(self, ctx, base_url: str, sim):
        self.ctx, self.base_url, self.sim = ctx, base_url, sim

    def create(self, name: str = "Fix-It Phone Repair", plan: str = "repair_shop", started: date | None = None,
               time_zone: str = "America/Chicago", number: str | None = None) -> ShopHandle:
        number = number or fresh_number()
        new = do_create_shop(self.ctx, name=name, plan=plan, numbers=[number], time_zone=time_zone, started=started)
        # No quiet hours unless a test sets them: the defaults (21:00-08:00 local) would hold every automatic
        # text of a suite that happens to run in the shop's evening. Tests of quiet hours set their own window.
        with self.ctx.db.transaction() as session:
            session.execute(update(Shop).where(Shop.id == new.shop.id).values(quiet_start="00:00", quiet_end="00:00"))
        self.sim.post("/_sim/twilio/numbers", {"number": number, "sms_url": f"{self.base_url}/webhooks/twilio/inbound"})
        api = httpx.Client(base_url=self.base_url, headers={"Authorization": f"Bearer {new.api_key}"}, timeout=30)
        return ShopHandle(new.shop.id, new.api_key, number, new.shop.flowroute_token, api, self)

    def staff_account(self, shop_id: int, *, name: str, role: str = "staff", email: str | None = None,
                      password: str = OWNER_PASSWORD):
        email = email or f"{name.split()[0].lower()}.{next(_numbers)}@shop{shop_id}.example"
        return do_create_account(self.ctx, shop_id, email=email, name=name, role=role, password=password)


def eventually(check, timeout: float = 10.0, interval: float = 0.02):
    """Poll until `check()` returns something truthy (callbacks arrive asynchronously); return it."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last: {last!r})")
