"""`repairtext demo`: the whole product on one machine with nothing to set up.

SQLite under ./var, the worker in-process, and the provider simulator in-process standing in for Twilio, so
texts really go over HTTP, receipts come back signed, and a customer's reply can be played from the staff page.
"""

from __future__ import annotations

import errno
import logging
import os
import socket

import uvicorn
from sqlalchemy import select

from repairtext.adapters.db.migrate import upgrade
from repairtext.adapters.db.models import Shop, StaffAccount
from repairtext.bootstrap import build_context
from repairtext.config import Settings
from repairtext.services import api_keys, customers, shops, staff, tickets

DEMO_SHOP = "Fix-It Phone Repair"
DEMO_NUMBER = "+12065550199"
DEMO_SID = "AC" + "d3" * 16
# The demo serves only on 127.0.0.1, so a printed, fixed password is a convenience, not a risk.
DEMO_OWNER = ("Sam Rivera", "owner@fixit.example", "fixit-demo-password")


def _ensure_owner(ctx, shop_id: int) -> None:
    name, email, password = DEMO_OWNER
    with ctx.db.reading() as session:
        exists = session.scalar(select(StaffAccount.id).where(StaffAccount.email == email,
                                                              StaffAccount.removed_at.is_(None)))
    if exists is None:
        staff.do_create_account(ctx, shop_id, email=email, name=name, role="owner", password=password)


class PortTaken(Exception):
    """The demo's port is in use (often an earlier demo still running)."""


def bind_port(port: int, host: str = "127.0.0.1") -> socket.socket:
    """The demo's socket, bound before anything else starts: a taken port is said at once, and the banner can
    wait for the server to listen on this very socket."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # A demo stopped a moment ago leaves its connections in TIME_WAIT; that must not keep the port. (On Linux this
    # still refuses a port that another process listens on.)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno in (errno.EADDRINUSE, errno.EACCES):
            raise PortTaken(f"port {port} on {host} is not free ({exc.strerror})") from None
        raise
    return sock


class _AnnouncingServer(uvicorn.Server):
    """Prints the banner once the server listens, so "is running" is true when a person reads it."""

    def __init__(self, config: uvicorn.Config, banner: str):
        super().__init__(config)
        self.banner = banner

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and not self.should_exit:
            print(self.banner, flush=True)


def demo_settings(port: int, simulator_url: str) -> Settings:
    public_url = os.environ.get("REPAIRTEXT_PUBLIC_URL", f"http://127.0.0.1:{port}")
    return Settings.from_env(
        public_url=public_url, twilio_account_sid=DEMO_SID, twilio_auth_token="demo-auth-token",
        twilio_api_base=simulator_url, flowroute_api_base=simulator_url, worker="inline",
        media_hosts=("127.0.0.1", "localhost"),
    )


def _seed(ctx) -> tuple[int, str]:
    with ctx.db.transaction() as session:
        shop = session.scalar(select(Shop).where(Shop.name == DEMO_SHOP))
        if shop is not None:
            key = api_keys.issue_api_key(session, shop, ctx.clock.now(), name="Demo")[1]
    if shop is not None:
        _ensure_owner(ctx, shop.id)
        return shop.id, key
    new = shops.do_create_shop(ctx, name=DEMO_SHOP, plan="repair_shop", numbers=[DEMO_NUMBER],
                               time_zone="America/Los_Angeles")
    shop_id = new.shop.id
    _ensure_owner(ctx, shop_id)
    people = [
        ("Jane Cooper", "jane@example.com", [{"number": "(206) 555-0134", "type": "mobile"}],
         [("iPhone 14 cracked screen", "Dropped it; touch still works on the top half.")]),
        ("Marcus Lee", "marcus@example.com", [{"number": "206-555-0187", "type": "mobile"},
                                              {"number": "206-555-0112", "type": "work"}],
         [("Galaxy S22 battery swap", "Battery drains by noon."), ("iPad Air charging port", "Only charges at an angle.")]),
        ("Rosa Diaz", "rosa@example.com", [{"number": "206-555-0150", "type": "home"}],
         [("MacBook keyboard", "Sticky E and R keys.")]),
    ]
    for name, email, phones, jobs in people:
        customer = customers.do_create_customer(ctx, shop_id, name=name, email=email, sms_enabled=True, phones=phones)
        for subject, problem in jobs:
            tickets.do_open_ticket(ctx, shop_id, customer_id=customer.id, subject=subject, problem=problem)
    return shop_id, new.api_key


def run_demo(port: int = 8000) -> None:
    """Raises PortTaken before starting anything when `port` is in use."""
    from repairtext.entrypoints.app import create_app
    from repairtext.simulator import SimulatorConfig, SimulatorServer

    sock = bind_port(port)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    sim = SimulatorServer(SimulatorConfig(twilio_account_sid=DEMO_SID, twilio_auth_token="demo-auth-token",
                                          callback_delay=1.0), port=0).start()
    settings = demo_settings(port, sim.url)
    upgrade(settings.database_url)
    ctx = build_context(settings)
    ctx.demo_simulator_url = sim.url
    import httpx

    httpx.post(f"{sim.url}/_sim/twilio/numbers",
               json={"number": DEMO_NUMBER, "sms_url": f"{settings.public_url}/webhooks/twilio/inbound"})
    shop_id, api_key = _seed(ctx)
    banner = f"""
  repairtext demo is running.

    Staff pages:  {settings.public_url}/sign-in
                  email {DEMO_OWNER[1]}, password {DEMO_OWNER[2]}
    API docs:     {settings.public_url}/docs
    API key:      {api_key}
    Simulator:    {sim.url}  (stands in for Twilio; texts and replies go over real HTTP)

  Try:  curl -H "Authorization: Bearer {api_key}" {settings.public_url}/api/v1/credits
  Stop with Ctrl-C. Data lives in {settings.database_url}.
"""
    server = _AnnouncingServer(uvicorn.Config(create_app(ctx, inline_worker=True), log_level="warning"), banner)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        sim.stop()
        ctx.close()

