"""What the page tests share: a signed-in staff client over real HTTP, and an MMS reply with a real picture."""

from __future__ import annotations

import base64
import io
import re

import httpx
import pytest
from support.shops import OWNER_PASSWORD
from support.web import sign_in

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class StaffClient:
    """A browser stand-in: signs in through the form, keeps the cookie, posts forms with their CSRF token."""

    def __init__(self, base_url: str, email: str, password: str = OWNER_PASSWORD):
        self.http = httpx.Client(base_url=base_url, timeout=30, follow_redirects=False)
        response = sign_in(self.http, email, password)
        assert response.status_code == 303, response.text
        self._csrf = None

    def get(self, path: str) -> httpx.Response:
        return self.http.get(path)

    @property
    def csrf(self) -> str:
        if self._csrf is None:
            self._csrf = CSRF.search(self.get("/tickets").text).group(1)
        return self._csrf

    def submit(self, path: str, **fields) -> httpx.Response:
        return self.http.post(path, data={"csrf": self.csrf, **fields})

    def follow(self, response: httpx.Response) -> httpx.Response:
        assert response.status_code == 303, (response.status_code, response.text[:500])
        return self.get(response.headers["location"])


@pytest.fixture
def staff(live_server):
    """`staff(shop)` → a StaffClient signed in as that shop's owner; `staff(shop, email=…)` as someone else."""
    clients = []

    def sign_in(shop, email: str | None = None, password: str = OWNER_PASSWORD) -> StaffClient:
        client = StaffClient(live_server.url, email or shop.owner_email, password)
        clients.append(client)
        return client

    yield sign_in
    for client in clients:
        client.http.close()


def png(color=(200, 40, 40), size=(64, 48)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def mms_reply(sim, worker):
    """`mms_reply(shop, from_number, body)`: the customer texts a photo; the worker stores it as an attachment."""

    def send(shop, from_number: str, body: str = "Here is the crack") -> None:
        media = [{"content_type": "image/png", "data_base64": base64.b64encode(png()).decode()}]
        answer = sim.post("/_sim/twilio/inbound", {"from": from_number, "to": shop.number, "body": body,
                                                   "media": media})
        assert answer["status_code"] == 200, answer
        worker.drain()

    return send
