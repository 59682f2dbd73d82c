"""One suite, two databases: REPAIRTEXT_TEST_DATABASE=sqlite (default) or postgresql.

Each test gets a freshly migrated database (SQLite: a copy of a migrated file; PostgreSQL: one migrated schema,
emptied between tests), its own blob directory, the provider simulator over real HTTP, and the app served by a
real uvicorn server on loopback, so providers' callbacks and webhooks really arrive over HTTP.
"""

from __future__ import annotations

import functools
import os
import shutil
import time
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError, OperationalError
from support.credentials import TWILIO_SID, TWILIO_TOKEN
from support.live import LiveServer
from support.shops import ShopFactory

from repairtext.adapters.db.migrate import upgrade
from repairtext.adapters.db.models import Base
from repairtext.bootstrap import build_context
from repairtext.config import Settings
from repairtext.simulator import SimulatorConfig, SimulatorServer

BACKEND = os.environ.get("REPAIRTEXT_TEST_DATABASE", "sqlite")
POSTGRES_URL = os.environ.get("REPAIRTEXT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def pytest_report_header(config):
    return f"repairtext database backend: {BACKEND}"


@pytest.fixture(scope="session")
def database_template(tmp_path_factory):
    """Migrate once per session; hand each test an empty database with the same schema."""
    if BACKEND == "sqlite":
        path = tmp_path_factory.mktemp("db") / "template.db"
        upgrade(f"sqlite:///{path}")
        yield ("sqlite", path)
        return
    schema = f"rt_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(POSTGRES_URL.replace("+psycopg", "+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    upgrade(url)
    yield ("postgresql", url)
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def database_url(database_template, tmp_path):
    kind, where = database_template
    if kind == "sqlite":
        target = tmp_path / "repairtext.db"
        shutil.copy(where, target)
        return f"sqlite:///{target}"
    _empty(_cleaner(where))
    return where


@functools.cache
def _cleaner(url: str):
    """One engine for emptying the schema between tests (making one per test cost more than the emptying)."""
    return create_engine(url)


def _empty(engine) -> None:
    """DELETE every table, children first, and restart the sequences: on tables this small it is a quarter of the
    time of a TRUNCATE, which makes new files for every table. A late write of the previous test (a provider
    callback the simulator was still posting) can land between two of the DELETEs (a child row of a parent about
    to go) or meet them in a deadlock: emptying again, children first, is safe."""
    for attempt in range(5):
        try:
            with engine.begin() as conn:
                for table in reversed(Base.metadata.sorted_tables):
                    conn.execute(table.delete())
                sequences = conn.execute(text("SELECT sequence_name FROM information_schema.sequences "
                                              "WHERE sequence_schema = current_schema()")).scalars().all()
                for sequence in sequences:
                    conn.execute(text(f'ALTER SEQUENCE "{sequence}" RESTART'))
            return
        except (OperationalError, IntegrityError):
            if attempt == 4:
                raise
            time.sleep(0.2)


@pytest.fixture(scope="session")
def simulator():
    sim = SimulatorServer(SimulatorConfig(twilio_account_sid=TWILIO_SID, twilio_auth_token=TWILIO_TOKEN,
                                          callback_delay=0.02), port=0).start()
    yield sim
    sim.stop()


@pytest.fixture
def sim(simulator):
    """The simulator, reset for this test; `sim.post(path, json)` / `sim.get(path)` reach its control API."""
    httpx.post(f"{simulator.url}/_sim/reset").raise_for_status()
    return SimClient(simulator.url)


class SimClient:
    def __init__(self, url: str):
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=30)

    def post(self, path: str, json: dict | None = None) -> dict:
        response = self.http.post(path, json=json or {})
        assert response.status_code < 400, response.text
        return response.json()

    def get(self, path: str, **params) -> dict | list:
        response = self.http.get(path, params=params)
        assert response.status_code < 400, response.text
        return response.json()

    def messages(self, provider: str = "twilio") -> list[dict]:
        return self.get("/_sim/messages", provider=provider)


@pytest.fixture(scope="session")
def live_server():
    server = LiveServer().start()
    yield server
    server.stop()


@pytest.fixture
def settings(database_url, tmp_path, simulator, live_server) -> Settings:
    return Settings.from_env(
        env={},
        database_url=database_url, blob_dir=str(tmp_path / "blobs"), public_url=live_server.url,
        twilio_account_sid=TWILIO_SID, twilio_auth_token=TWILIO_TOKEN,
        twilio_api_base=simulator.url, flowroute_api_base=simulator.url,
        media_hosts=("127.0.0.1",), worker="off", secret_key="test-secret",
    )


@pytest.fixture
def ctx(settings):
    context = build_context(settings)
    context.media_backoff = 0.01
    yield context
    context.close()


@pytest.fixture
def app(ctx, live_server):
    """The app under test, served over real HTTP at live_server.url (no inline worker: tests drain it)."""
    from repairtext.entrypoints.app import create_app

    application = create_app(ctx, inline_worker=False)
    live_server.serve(application)
    yield application
    live_server.serve(None)


@pytest.fixture
def worker(ctx):
    from repairtext.services.worker import Worker

    w = Worker(ctx, name="test-worker", concurrency=2)
    yield w
    w.close()


@pytest.fixture
def shops(ctx, app, live_server, sim) -> ShopFactory:
    return ShopFactory(ctx, live_server.url, sim)


@pytest.fixture
def blob_dir(tmp_path) -> Path:
    return tmp_path / "blobs"
