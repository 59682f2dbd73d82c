"""Real `repairtext worker` and `repairtext serve` processes for tests: the environment that points one at the
test's database, simulator and live server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

# `repairtext serve` refuses a secret shorter than 32 bytes; the test settings' own is shorter.
SERVING_SECRET = "test-secret-for-server-processes-0123456789"


def worker_env(settings, **extra: str) -> dict:
    env = dict(os.environ)
    env.update({
        "REPAIRTEXT_DATABASE_URL": settings.database_url, "REPAIRTEXT_BLOB_DIR": settings.blob_dir,
        "REPAIRTEXT_PUBLIC_URL": settings.public_url, "REPAIRTEXT_TWILIO_ACCOUNT_SID": settings.twilio_account_sid,
        "REPAIRTEXT_TWILIO_AUTH_TOKEN": settings.twilio_auth_token,
        "REPAIRTEXT_TWILIO_API_BASE": settings.twilio_api_base, "REPAIRTEXT_FLOWROUTE_API_BASE": settings.flowroute_api_base,
        "REPAIRTEXT_SECRET_KEY": settings.secret_key, "REPAIRTEXT_WORKER": "off", **extra,
    })
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def server_processes(settings, logs: list[Path], **extra: str) -> Iterator[list[str]]:
    """One `repairtext serve` process (worker off) per log file, on free loopback ports, each with its own URL as
    its public URL (so Twilio signatures for it check out); started together, yielded once every /readyz
    answers 200. Each one's output goes to its log, shown if it fails to start."""
    started: list[tuple[str, subprocess.Popen]] = []
    try:
        for log in logs:
            port = _free_port()
            url = f"http://127.0.0.1:{port}"
            env = worker_env(settings, REPAIRTEXT_PUBLIC_URL=url, REPAIRTEXT_SECRET_KEY=SERVING_SECRET, **extra)
            with log.open("wb") as out:
                started.append((url, subprocess.Popen(
                    [sys.executable, "-m", "repairtext.entrypoints.cli", "serve", "--host", "127.0.0.1",
                     "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT)))
        deadline = time.monotonic() + 60
        for (url, proc), log in zip(started, logs, strict=True):
            while not _ready(url):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"`repairtext serve` did not start:\n{log.read_text(errors='replace')}")
                time.sleep(0.1)
        yield [url for url, _ in started]
    finally:
        for _, proc in started:
            proc.terminate()  # SIGTERM: uvicorn's graceful shutdown, event streams closed by the lifespan
        for _, proc in started:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
