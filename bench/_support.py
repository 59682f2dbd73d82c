"""What the bench scripts share: a throwaway database, a loopback socket for uvicorn, and child processes.

Not a bench itself (run_all.py skips files starting with '_')."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from sqlalchemy import create_engine, text  # noqa: E402

from repairtext.adapters.db.migrate import upgrade  # noqa: E402

POSTGRES_URL = os.environ.get("REPAIRTEXT_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@contextmanager
def bench_database(kind: str, label: str):
    """A freshly migrated database: a temporary SQLite file, or a PostgreSQL schema of our own, dropped after."""
    if kind == "sqlite":
        where = tempfile.mkdtemp(prefix="repairtext-bench-")
        url = f"sqlite:///{where}/bench.db"
        try:
            upgrade(url)
            yield url
        finally:
            shutil.rmtree(where, ignore_errors=True)
        return
    schema = f"bench_{label}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
        upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def loopback_socket() -> socket.socket:
    """A listening socket for uvicorn. proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY only on accepted
    sockets whose proto says TCP, and uvicorn writes a response's head and body apart, so without it every
    response waits ~40 ms for a delayed ACK (Nagle)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def child(script: str, *args: str):
    """`script` in a `--serve…` mode of its own; yields (the URL it prints, its pid). Closing its stdin stops it."""
    proc = subprocess.Popen([sys.executable, script, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip()
        if not url.startswith("http"):
            raise RuntimeError(f"child {args} did not start")
        yield url, proc.pid
    finally:
        proc.stdin.close()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


RESULT_PREFIX = "BENCH-RESULT "


def emit(script: str, figures: dict) -> None:
    """The script's figures as one machine-readable line, which run_all.py collects into bench/results.md."""

    print(RESULT_PREFIX + json.dumps({"script": script, "figures": figures}, sort_keys=True, default=str), flush=True)
