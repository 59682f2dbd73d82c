"""How fast an idle separate worker picks up a text, and what an idle worker costs the database.

PostgreSQL only (separate worker processes learn of work by LISTEN/NOTIFY there; SQLite's one process is woken
in memory). One `repairtext worker` process waits idle; texts are opened one at a time through the real API
(POST /api/v1/tickets, the Initial Problem text); each text's latency is from the client holding the API's 201 to
the provider simulator recording the message. Then an in-process Worker (the same code) idles for a while with
every statement it sends counted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime

import _support  # noqa: F401  (puts src/ on the path)
import httpx
import uvicorn
from _support import bench_database, loopback_socket
from sqlalchemy import event, update

from repairtext.adapters.db.models import Shop
from repairtext.bootstrap import build_context
from repairtext.config import Settings
from repairtext.entrypoints.app import create_app
from repairtext.services.shops import do_create_shop
from repairtext.services.worker import Worker
from repairtext.simulator import SimulatorConfig, SimulatorServer

SID, TOKEN = "AC" + "b" * 32, "bench-token-" + "x" * 24


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=100)
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    args = parser.parse_args()
    sim = SimulatorServer(SimulatorConfig(twilio_account_sid=SID, twilio_auth_token=TOKEN, callback_delay=0.05),
                          port=0).start()
    with bench_database("postgresql", "wake") as url:
        sock = loopback_socket()
        public = f"http://127.0.0.1:{sock.getsockname()[1]}"
        settings = Settings.from_env(env={}, database_url=url, public_url=public, twilio_account_sid=SID,
                                     twilio_auth_token=TOKEN, twilio_api_base=sim.url, flowroute_api_base=sim.url,
                                     media_hosts=("127.0.0.1",), worker="off", secret_key="s" * 32)
        ctx = build_context(settings)
        number = "+12065550142"
        shop = do_create_shop(ctx, name="Bench", plan="big_chain", numbers=[number], time_zone="America/Chicago")
        with ctx.db.transaction() as session:
            session.execute(update(Shop).values(quiet_start="00:00", quiet_end="00:00"))
        httpx.post(f"{sim.url}/_sim/twilio/numbers", json={"number": number, "sms_url": public + "/webhooks/twilio/inbound"})
        server = uvicorn.Server(uvicorn.Config(create_app(ctx, inline_worker=False), log_level="warning"))
        threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
        while not server.started:
            time.sleep(0.05)
        env = dict(os.environ, REPAIRTEXT_DATABASE_URL=url, REPAIRTEXT_PUBLIC_URL=public, REPAIRTEXT_WORKER="off",
                   REPAIRTEXT_TWILIO_ACCOUNT_SID=SID, REPAIRTEXT_TWILIO_AUTH_TOKEN=TOKEN,
                   REPAIRTEXT_TWILIO_API_BASE=sim.url, REPAIRTEXT_FLOWROUTE_API_BASE=sim.url, REPAIRTEXT_SECRET_KEY="s" * 32)
        worker = subprocess.Popen([sys.executable, "-m", "repairtext.entrypoints.cli", "worker", "--concurrency", "4"],
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        api = httpx.Client(base_url=public, headers={"Authorization": f"Bearer {shop.api_key}"}, timeout=30)
        latencies = []
        try:
            time.sleep(3)  # the worker is up and idle, waiting in LISTEN
            for i in range(args.texts):
                customer = api.post("/api/v1/customers", json={
                    "name": f"Customer {i}", "phones": [{"number": f"+1206555{1000 + i:04d}", "type": "mobile"}]}).json()
                response = api.post("/api/v1/tickets", json={"customer_id": customer["id"], "subject": "Screen"})
                answered = time.time()
                assert response.status_code == 201, response.text
                deadline = time.monotonic() + 10
                while True:
                    sent = httpx.get(f"{sim.url}/_sim/messages", params={"provider": "twilio"}).json()
                    if len(sent) > i or time.monotonic() > deadline:
                        break
                    time.sleep(0.002)
                arrived = datetime.fromisoformat(sent[-1]["created_at"]).timestamp()
                latencies.append((arrived - answered) * 1000)
                time.sleep(0.2)  # let the worker go idle again
        finally:
            worker.terminate()
            worker.wait(timeout=20)
        statements = []
        for engine in {ctx.db.engine, ctx.db.read_sessions.kw["bind"]}:
            event.listen(engine, "before_cursor_execute", lambda *a, **k: statements.append(1))
        idle, stop = Worker(ctx, name="bench-idle"), threading.Event()
        thread = threading.Thread(target=idle.run_forever, args=(stop,), daemon=True)
        thread.start()
        time.sleep(2)  # past its start-up (first housekeeping round)
        statements.clear()
        time.sleep(args.idle_seconds)
        per_minute = len(statements) * 60 / args.idle_seconds
        stop.set()
        idle.wake_lanes()
        thread.join(15)
        server.should_exit = True
        ctx.close()
    sim.stop()
    figures = {"texts": len(latencies), "p50_ms": round(statistics.median(latencies), 1),
               "p99_ms": round(percentile(latencies, 99), 1), "max_ms": round(max(latencies), 1),
               "idle_queries_per_minute": round(per_minute, 1)}
    print(f"201 -> provider, idle separate worker (PostgreSQL LISTEN/NOTIFY), {len(latencies)} texts: "
          f"p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms, max {figures['max_ms']} ms")
    print(f"one idle worker: {figures['idle_queries_per_minute']} statements a minute")
    if hasattr(_support, "emit"):
        _support.emit("worker_wakeup", figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
