"""Talking to repairtext as its users do: the HTTP API (shops through the operator API, customers, tickets,
comments) and Twilio's signed inbound webhook. Every call is bounded in attempts and in time."""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

import httpx
from twilio.request_validator import RequestValidator

_numbers = itertools.count(1)
_numbers_lock = threading.Lock()


def fresh_number() -> str:
    """A valid North American mobile number no other part of the run uses."""
    with _numbers_lock:
        n = next(_numbers)
    return f"+1206{(2000000 + n * 7919) % 8000000 + 2000000:07d}"


def _retryable(response: httpx.Response | None) -> bool:
    """No answer, a 5xx, 409 (the first request with this key is still being handled) or 429."""
    return response is None or response.status_code >= 500 or response.status_code in (409, 429)


@dataclass
class Outcome:
    """What a request that texts someone came to: `status` is the last HTTP status (None: never answered)."""

    status: int | None = None
    statuses: list[int | None] = field(default_factory=list)  # every try's, for the report
    body: dict = field(default_factory=dict)
    attempts: int = 0
    found_existing: bool = False  # no 2xx, but what it asked for was there when we looked

    @property
    def accepted(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class ShopApi:
    """One shop's API key over HTTP. `idempotent`: the server honours Idempotency-Key on the texting requests,
    so a request without an answer is simply sent again with the same key; otherwise we look before retrying."""

    def __init__(self, base_url: str, api_key: str, shop_id: int, number: str, idempotent: bool) -> None:
        self.shop_id, self.number, self.idempotent = shop_id, number, idempotent
        self.own_numbers: list[str] = []  # Flowroute numbers of its own, which its Flowroute texts come from
        self.http = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {api_key}"},
                                 timeout=httpx.Timeout(30, connect=5), limits=httpx.Limits(max_connections=32))

    def _once(self, method: str, path: str, **kwargs) -> httpx.Response | None:
        try:
            return self.http.request(method, path, **kwargs)
        except httpx.HTTPError:
            return None

    def setup(self, method: str, path: str, json: dict, within: float = 60) -> dict:
        """A request made before the faults start (or that texts nobody): retried until 2xx."""
        deadline = time.monotonic() + within
        while True:
            response = self._once(method, path, json=json)
            if response is not None and response.is_success:
                return response.json()
            if response is not None and not _retryable(response) or time.monotonic() > deadline:
                raise RuntimeError(f"{method} {path} -> {response.status_code if response else 'no answer'}: "
                                   f"{response.text[:300] if response else ''}")
            time.sleep(0.5)

    def texting(self, path: str, json: dict, exists: Callable[[], bool], within: float = 90) -> Outcome:
        """A request that texts a customer, as a careful client sends it: one Idempotency-Key for all its tries.
        Without server support for the key, a try that got no answer is repeated only if `exists()` says the
        first did not land (a 5xx, by the contract, changed nothing)."""
        key, outcome = uuid.uuid4().hex, Outcome()
        deadline = time.monotonic() + within
        while outcome.attempts < 40 and time.monotonic() < deadline:
            outcome.attempts += 1
            response = self._once("POST", path, json=json, headers={"Idempotency-Key": key})
            outcome.status = response.status_code if response is not None else None
            outcome.statuses.append(outcome.status)
            if response is not None and not _retryable(response):
                outcome.body = response.json() if response.content else {}
                return outcome
            if response is None and not self.idempotent and _looked(exists, deadline):
                outcome.found_existing = True
                return outcome
            time.sleep(min(0.25 * outcome.attempts, 2.0))
        if not self.idempotent and _looked(exists, deadline + 30):
            outcome.found_existing = True
        return outcome


def _looked(exists: Callable[[], bool], deadline: float) -> bool:
    """exists(), retried while the database itself is away."""
    while True:
        try:
            return exists()
        except Exception:  # noqa: BLE001 - the database may be the thing that is down
            if time.monotonic() > deadline:
                return False
            time.sleep(0.5)


class Operator:
    """The platform operator's API: shops and their numbers."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)

    def create_shop(self, name: str, plan: str, idempotent: bool) -> ShopApi:
        number = fresh_number()
        response = self.http.post("/api/v1/admin/shops", json={"name": name, "plan": plan, "numbers": [number],
                                                               "time_zone": "America/Chicago"})
        if response.status_code != 201:
            raise RuntimeError(f"creating shop {name}: {response.status_code} {response.text[:300]}")
        data = response.json()
        shop = ShopApi(self.base_url, data["api_key"], data["id"], number, idempotent)
        # Quiet hours off: the Initial Problem text goes whatever the hour the suite runs.
        shop.setup("PATCH", "/api/v1/shop", {"quiet_hours": {"start": "00:00", "end": "00:00"}})
        return shop


def use_flowroute(shop: ShopApi, sim: httpx.Client) -> None:
    """The shop sends through its own Flowroute account, from a Flowroute number of its own (the platform's
    Twilio number it was created with stays the operator's, and texts never go from it through Flowroute)."""
    key, secret, own = f"fr-{shop.shop_id}", f"fr-secret-{shop.shop_id}", fresh_number()
    hooks = shop.setup("PATCH", "/api/v1/shop", {"flowroute_access_key": key, "flowroute_secret_key": secret,
                                                 "provider": "flowroute", "numbers": [shop.number, own]})["webhooks"]
    shop.own_numbers.append(own)
    sim.post("/_sim/flowroute/accounts", json={
        "access_key": key, "secret_key": secret, "numbers": [own.lstrip("+")],
        "sms_callback_url": hooks["flowroute_inbound"], "dlr_callback_url": hooks["flowroute_status"],
    }).raise_for_status()


class _Form(dict):
    """RequestValidator wants a dict with getlist() for forms with repeated names."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        super().__init__(pairs)
        self._pairs = pairs

    def getlist(self, name: str) -> list[str]:
        return [v for n, v in self._pairs if n == name]


@dataclass
class Webhook:
    """One inbound text, delivered as Twilio's signed form; posted twice at once, and again if neither got a 2xx."""

    sid: str
    sender: str
    to: str
    body: str
    statuses: list[int | None] = field(default_factory=list)

    @property
    def got_2xx(self) -> bool:
        return any(s is not None and 200 <= s < 300 for s in self.statuses)


def post_twice(webhook: Webhook, url: str, auth_token: str, within: float = 60) -> None:
    """Twilio's form, signed by twilio-python's RequestValidator, posted by two threads released together; both
    again a second later while neither got a 2xx (a server being restarted), for at most `within` seconds."""
    form = [("MessageSid", webhook.sid), ("SmsSid", webhook.sid), ("AccountSid", "AC" + "5a" * 16),
            ("From", webhook.sender), ("To", webhook.to), ("Body", webhook.body), ("NumMedia", "0"),
            ("FromCountry", "US")]
    headers = {"Content-Type": "application/x-www-form-urlencoded",
               "X-Twilio-Signature": RequestValidator(auth_token).compute_signature(url, _Form(form))}
    content = urlencode(form)
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        gate = threading.Barrier(2)
        results: list[int | None] = [None, None]

        def post(i: int, gate: threading.Barrier = gate, results: list[int | None] = results) -> None:
            gate.wait()
            try:
                results[i] = httpx.post(url, content=content, headers=headers, timeout=20).status_code
            except httpx.HTTPError:
                results[i] = None

        threads = [threading.Thread(target=post, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        webhook.statuses.extend(results)
        if webhook.got_2xx:
            return
        time.sleep(1.0)
