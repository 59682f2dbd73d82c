"""Regenerate the README's screenshots of the staff UI, at 1280x900, from one realistic shop.

    .venv/bin/python docs/make_screenshot.py            # every screenshot in docs/
    .venv/bin/python docs/make_screenshot.py --out x.png --page /credits

Everything runs locally like the tests: a throw-away SQLite database, the provider simulator over real HTTP,
the app under uvicorn on loopback, data made through the services, the worker drained by hand, and headless
Chromium (Debian's, at /usr/bin/chromium) signing in with a staff account.
"""

from __future__ import annotations

import argparse
import base64
import shutil
import socket
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy import select

from repairtext.adapters.db.migrate import upgrade
from repairtext.adapters.db.models import Message
from repairtext.bootstrap import build_context
from repairtext.config import Settings
from repairtext.domain.staff import Author
from repairtext.entrypoints.app import create_app
from repairtext.entrypoints.web.demo_reply import sample_photo
from repairtext.services import customers, shops, staff, tickets
from repairtext.services.worker import Worker
from repairtext.simulator import SimulatorConfig, SimulatorServer

SID, TOKEN = "AC" + "5c" * 16, "screenshot-auth-token"
SHOP_NUMBER = "+12065550199"
OWNER = ("Sam Rivera", "sam@fixit.example", "screenshot-password")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit("timed out waiting for the simulator's delivery receipts")
        time.sleep(0.05)


def all_delivered(ctx) -> bool:
    with ctx.db.transaction() as session:
        statuses = session.scalars(select(Message.status).where(Message.direction == "outbound")).all()
    return bool(statuses) and all(s == "delivered" for s in statuses)


def seed(ctx, sim_url: str, public_url: str) -> dict[str, str]:
    worker = Worker(ctx, name="screenshot")
    new = shops.do_create_shop(ctx, name="Fix-It Phone Repair", plan="repair_shop", numbers=[SHOP_NUMBER],
                               time_zone="America/Los_Angeles")
    shop_id = new.shop.id
    staff.do_create_account(ctx, shop_id, name=OWNER[0], email=OWNER[1], password=OWNER[2], role="owner")
    tina = staff.do_create_account(ctx, shop_id, name="Tina Tech", email="tina@fixit.example",
                                   password=OWNER[2], role="staff")
    by_tina = Author("staff", tina.name, staff_id=tina.id)
    # Whatever the hour the script runs at, the automatic texts go at once (no quiet hours in a screenshot).
    shops.do_update_shop(ctx, shop_id, {"quiet_hours": {"start": "00:00", "end": "00:00"}})
    httpx.post(f"{sim_url}/_sim/twilio/numbers",
               json={"number": SHOP_NUMBER, "sms_url": f"{public_url}/webhooks/twilio/inbound"}).raise_for_status()
    jane = customers.do_create_customer(ctx, shop_id, name="Jane Cooper", email="jane@example.com", sms_enabled=True,
                                        phones=[{"number": "(206) 555-0134", "type": "mobile"}])
    marcus = customers.do_create_customer(ctx, shop_id, name="Marcus Lee", email=None, sms_enabled=True,
                                          phones=[{"number": "206-555-0187", "type": "mobile"}])
    tickets.do_open_ticket(ctx, shop_id, customer_id=marcus.id, subject="Galaxy S22 battery swap",
                           problem="Battery drains by noon.")
    ticket = tickets.do_open_ticket(ctx, shop_id, customer_id=jane.id, subject="iPhone 14 cracked screen",
                                    problem="Dropped it on the sidewalk; touch still works on the top half.")
    worker.drain()
    wait_until(lambda: all_delivered(ctx))

    photo = base64.b64encode(sample_photo()).decode()
    httpx.post(f"{sim_url}/_sim/twilio/inbound", timeout=15, json={
        "from": "+12065550134", "to": SHOP_NUMBER, "media": [{"content_type": "image/png", "data_base64": photo}],
        "body": "Thanks! Here is a photo of the crack. Can you also check the camera?"}).raise_for_status()
    worker.drain()
    tickets.do_change_status(ctx, shop_id, ticket.id, "Waiting for Parts")
    tickets.do_comment(ctx, shop_id, ticket.id, body="Screen ordered, arriving Thursday. Camera tested OK.",
                       sms_body="Hi Jane, your new screen arrives Thursday and the camera tested fine. "
                                "We'll text you as soon as it's ready.", hidden=False, author=by_tina)
    tickets.do_comment(ctx, shop_id, ticket.id, hidden=True, sms_body=None, author=by_tina,
                       body="Ordered screen assembly A2649 from the supplier; camera lens looks fine under the loupe.")
    worker.drain()
    wait_until(lambda: all_delivered(ctx))
    # A text from a number nobody has: it waits in the inbox.
    httpx.post(f"{sim_url}/_sim/twilio/inbound", timeout=15, json={
        "from": "+12065550166", "to": SHOP_NUMBER, "body": "Hi, is my laptop ready? This is Dana, new phone."})
    worker.drain()
    worker.close()
    return {"screenshot.png": f"/tickets/{ticket.id}", "ticket-list.png": "/tickets",
            "customer.png": f"/customers/{jane.id}", "inbox.png": "/inbox", "credits.png": "/credits"}


@contextmanager
def running_app():
    """The simulator and the app on loopback ports, over a throw-away database: (ctx, simulator URL, app URL)."""
    work = Path(tempfile.mkdtemp(prefix="repairtext-shot-"))
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    sim = SimulatorServer(SimulatorConfig(twilio_account_sid=SID, twilio_auth_token=TOKEN, callback_delay=0.05),
                          port=0).start()
    settings = Settings.from_env(env={}, database_url=f"sqlite:///{work / 'repairtext.db'}",
                                 blob_dir=str(work / "blobs"), public_url=public_url, twilio_account_sid=SID,
                                 twilio_auth_token=TOKEN, twilio_api_base=sim.url, flowroute_api_base=sim.url,
                                 media_hosts=("127.0.0.1",), worker="off", secret_key="screenshot")
    upgrade(settings.database_url)
    ctx = build_context(settings)
    server = uvicorn.Server(uvicorn.Config(create_app(ctx, inline_worker=False), host="127.0.0.1", port=port,
                                          log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        yield ctx, sim.url, public_url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sim.stop()
        ctx.close()
        shutil.rmtree(work, ignore_errors=True)


def signed_in_page(browser, public_url: str, **options):
    page = browser.new_page(**options)
    page.goto(public_url + "/sign-in")
    page.fill("#email", OWNER[1])
    page.fill("#password", OWNER[2])
    page.click("button[type=submit]")
    page.wait_for_url("**/tickets")
    return page


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="one file, with --page (default: every screenshot in docs/)")
    parser.add_argument("--page", default=None, help="path to capture (e.g. /credits)")
    parser.add_argument("--full", action="store_true", help="capture the full page height")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with running_app() as (ctx, sim_url, public_url), sync_playwright() as p:
        shots = seed(ctx, sim_url, public_url)
        if args.out:
            shots = {args.out: args.page or shots["screenshot.png"]}
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = signed_in_page(browser, public_url, viewport={"width": 1280, "height": 900})
        for name, path in shots.items():
            out = Path(name) if args.out else Path(__file__).with_name(name)
            page.goto(public_url + path)
            page.wait_for_load_state("domcontentloaded")
            page.wait_for_timeout(500)  # the live stream stays open, so "network idle" never comes
            page.screenshot(path=str(out), full_page=args.full)
            print(f"wrote {out}", file=sys.stderr)
        browser.close()


if __name__ == "__main__":
    main()
