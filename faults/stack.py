"""The whole deployment under test, on loopback: our PostgreSQL cluster, a `repairtext simulator`, one
`repairtext serve` (REPAIRTEXT_WORKER=off) and as many `repairtext worker` processes as a scenario wants."""

from __future__ import annotations

import itertools
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import httpx
from sqlalchemy import create_engine

from faults.client import Operator, ShopApi
from faults.cluster import Cluster, free_port
from faults.procs import SRC, Child, wait_http

# The simulator's built-in account (`repairtext simulator` plays it with no settings).
TWILIO_SID = "AC" + "5a" * 16
TWILIO_TOKEN = "simulator-auth-token"


class Stack:
    def __init__(self, run_dir: Path | None = None) -> None:
        self.dir = run_dir or Path(tempfile.mkdtemp(prefix="repairtext-faults-"))
        self.cluster = Cluster()
        self.sim_url = f"http://127.0.0.1:{free_port()}"
        self.server_port = free_port()
        self.url = f"http://127.0.0.1:{self.server_port}"
        self.admin_token = uuid.uuid4().hex
        self.env = {
            "REPAIRTEXT_DATABASE_URL": self.cluster.url,
            "REPAIRTEXT_BLOB_DIR": str(self.dir / "blobs"),
            "REPAIRTEXT_PUBLIC_URL": self.url,
            "REPAIRTEXT_TWILIO_ACCOUNT_SID": TWILIO_SID,
            "REPAIRTEXT_TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
            "REPAIRTEXT_TWILIO_API_BASE": self.sim_url,
            "REPAIRTEXT_FLOWROUTE_API_BASE": self.sim_url,
            "REPAIRTEXT_ADMIN_TOKEN": self.admin_token,
            "REPAIRTEXT_SECRET_KEY": "faults-" + uuid.uuid4().hex,
            "REPAIRTEXT_WORKER": "off",
        }
        self.simulator = Child("simulator", ["simulator", "--port", self.sim_url.rsplit(":", 1)[1]], {}, self.dir)
        self.server = Child("server", ["serve", "--port", str(self.server_port)], self.env, self.dir)
        self.workers: list[Child] = []
        self._worker_names = itertools.count()
        # Our own reads (the checks); lazy, so it connects once the cluster is up.
        self.engine = create_engine(self.cluster.url, pool_pre_ping=True, pool_size=4)
        self.sim = httpx.Client(base_url=self.sim_url, timeout=60)
        self.operator = Operator(self.url, self.admin_token)
        self.idempotent = False

    def start(self) -> Stack:
        self.cluster.create().start()
        self.cluster.wait_ready()
        migrated = subprocess.run([sys.executable, "-m", "repairtext.entrypoints.cli", "migrate"], check=False,
                                  timeout=180, env={**self.env, "PYTHONPATH": str(SRC)}, capture_output=True, text=True)
        if migrated.returncode != 0:
            raise RuntimeError(f"repairtext migrate failed: {(migrated.stdout + migrated.stderr)[-1500:]}")
        self.simulator.start()
        wait_http(self.sim_url + "/_sim/health", child=self.simulator)
        self.start_server()
        self.idempotent = self._probe_idempotency()
        return self

    def start_server(self) -> None:
        self.server.start()
        wait_http(self.url + "/healthz", timeout=90, child=self.server)

    def restart_server(self) -> None:
        self.server.kill()
        self.start_server()

    def start_workers(self, count: int, concurrency: int, wait: bool = True) -> list[Child]:
        """`wait`: until each has logged that it started, so a scenario's faults meet workers at work."""
        fresh = [Child(f"worker-{next(self._worker_names)}", ["worker", "--concurrency", str(concurrency)], self.env,
                       self.dir).start() for _ in range(count)]
        self.workers += fresh
        for worker in fresh if wait else []:
            worker.wait_logged("repairtext.worker: worker ")
        return fresh

    def replace_worker(self, old: Child) -> Child:
        """A new process in place of one that was killed (as a supervisor would start one)."""
        return self.start_workers(1, int(old.args[-1]), wait=False)[0]

    def stop_workers(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.workers = []

    def _probe_idempotency(self) -> bool:
        """Does POST /api/v1/tickets honour Idempotency-Key yet? The same key twice must give the same ticket."""
        shop = self.operator.create_shop("Idempotency probe", "big_chain", idempotent=False)
        customer = shop.setup("POST", "/api/v1/customers", {"name": "Probe", "phones": [
            {"number": "+12065550123", "type": "mobile"}]})
        headers = {"Idempotency-Key": uuid.uuid4().hex}
        body = {"customer_id": customer["id"], "subject": "probe", "problem": ""}
        first = shop.http.post("/api/v1/tickets", json=body, headers=headers)
        second = shop.http.post("/api/v1/tickets", json=body, headers=headers)
        return first.status_code == 201 and second.is_success and second.json().get("id") == first.json().get("id")

    def shop(self, name: str) -> ShopApi:
        return self.operator.create_shop(name, "big_chain", self.idempotent)

    def close(self) -> None:
        for child in [*self.workers, self.server, self.simulator]:
            child.stop(grace=5)
        self.engine.dispose()
        self.cluster.destroy()
