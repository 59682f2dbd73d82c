"""Every response carries security headers (HSTS behind https); no secret reaches a log line; `serve` refuses
short secrets."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import logging
import os
import re
import subprocess
import sys

import httpx
import pytest
import uvicorn.logging

from repairtext.config import Settings
from repairtext.entrypoints.app import create_app

BASELINE = {"x-content-type-options": "nosniff", "x-frame-options": "DENY"}


def assert_safe_headers(response: httpx.Response) -> None:
    for name, value in BASELINE.items():
        assert response.headers.get(name) == value, (response.url, name)
    assert len(response.headers.get_list("content-security-policy")) == 1, response.url
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers.get("referrer-policy")


def test_api_docs_webhooks_and_pages_all_carry_security_headers(shops, live_server):
    shop = shops.create()
    api = shop.api.get("/api/v1/shop")
    unauthenticated = httpx.get(f"{live_server.url}/api/v1/shop")
    for response in (api, unauthenticated, httpx.get(f"{live_server.url}/openapi.json"),
                     httpx.get(f"{live_server.url}/docs"), httpx.get(f"{live_server.url}/healthz"),
                     httpx.post(f"{live_server.url}/webhooks/twilio/inbound", data={"Body": "x"}),
                     httpx.get(f"{live_server.url}/sign-in"), httpx.get(f"{live_server.url}/portal/nothing-here")):
        assert_safe_headers(response)
        assert "strict-transport-security" not in response.headers  # plain http: HSTS would mean nothing
    assert api.headers["content-security-policy"].startswith("default-src 'none'")
    assert api.headers["cache-control"] == "no-store" and unauthenticated.status_code == 401
    # The staff pages keep their own policy (scripts and styles from us), not the API's.
    assert "script-src 'self'" in httpx.get(f"{live_server.url}/sign-in").headers["content-security-policy"]


def test_the_docs_page_allows_exactly_its_own_inline_script(live_server, app):
    docs = httpx.get(f"{live_server.url}/docs")
    assert docs.status_code == 200
    inline = re.findall(r"<script>(.*?)</script>", docs.text, re.DOTALL)
    assert inline
    policy = docs.headers["content-security-policy"]
    for script in inline:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy
    assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";", 1)[0]


def test_hsts_on_every_response_when_the_public_url_is_https(ctx, app, live_server):
    https_ctx = dataclasses.replace(ctx, settings=dataclasses.replace(ctx.settings, public_url="https://desk.example"))
    live_server.serve(create_app(https_ctx, inline_worker=False))
    try:
        responses = [httpx.get(f"{live_server.url}{path}") for path in ("/api/v1/shop", "/docs", "/", "/healthz")]
    finally:
        live_server.serve(app)
    for response in responses:
        assert response.headers["strict-transport-security"].startswith("max-age=31536000")


@pytest.fixture
def access_log():
    """uvicorn's access log lines as uvicorn formats them (the suite's server logs warnings only by default)."""
    logger = logging.getLogger("uvicorn.access")
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record):
            lines.append(self.format(record))

    handler = Collect()
    handler.setFormatter(uvicorn.logging.AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s',
                                                         use_colors=False))
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    yield lines
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_webhook_and_portal_tokens_never_reach_the_access_log_or_ours(shops, live_server, access_log, caplog):
    shop = shops.create()
    ticket = shop.ticket(shop.customer()["id"])
    portal_token = ticket["portal_url"].rsplit("/", 1)[1]
    base = live_server.url
    assert httpx.get(f"{base}/portal/{portal_token}").status_code == 200
    httpx.get(f"{base}/portal/{portal_token}/attachments/1")
    httpx.post(f"{base}/webhooks/flowroute/{shop.flowroute_token}/inbound", json={"data": {}})
    httpx.post(f"{base}/webhooks/flowroute/{shop.flowroute_token}/status?x=1", json={"data": {}})
    httpx.get(f"{base}/api/v1/shop?key={shop.api_key}")

    assert len([line for line in access_log if "/portal/" in line or "/webhooks/flowroute/" in line]) >= 4
    text = "\n".join(access_log)
    assert portal_token not in text and shop.flowroute_token not in text
    assert shop.api_key.split("_", 2)[2] not in text
    assert "/portal/[redacted]" in text and "/webhooks/flowroute/[redacted]/inbound" in text

    # Our own loggers too, whatever the message carries the secret in.
    with caplog.at_level(logging.INFO, logger="repairtext"):
        logging.getLogger("repairtext.webhooks").warning("callback %s failed", f"{base}/portal/{portal_token}")
        logging.getLogger("repairtext.webhooks").warning(f"inbound on /webhooks/flowroute/{shop.flowroute_token}/x")
    ours = [r.getMessage() for r in caplog.records if r.name == "repairtext.webhooks"]
    assert len(ours) == 2 and all("[redacted]" in line for line in ours)
    assert portal_token not in caplog.text and shop.flowroute_token not in caplog.text


def run_serve(tmp_path, **env) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("REPAIRTEXT_")}
    base.update({"REPAIRTEXT_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
                 "REPAIRTEXT_BLOB_DIR": str(tmp_path / "blobs"), **env})
    return subprocess.run([sys.executable, "-m", "repairtext.entrypoints.cli", "serve", "--port", "1"],
                          capture_output=True, text=True, env=base, timeout=20, check=False)


def test_serve_refuses_secrets_shorter_than_32_bytes(tmp_path):
    short_key = run_serve(tmp_path, REPAIRTEXT_SECRET_KEY="s" * 31)
    assert short_key.returncode == 2
    assert "REPAIRTEXT_SECRET_KEY is 31 bytes" in short_key.stderr and "at least 32" in short_key.stderr
    none = run_serve(tmp_path)
    assert none.returncode == 2 and "set REPAIRTEXT_SECRET_KEY" in none.stderr
    short_token = run_serve(tmp_path, REPAIRTEXT_SECRET_KEY="k" * 32, REPAIRTEXT_ADMIN_TOKEN="admin")
    assert short_token.returncode == 2 and "REPAIRTEXT_ADMIN_TOKEN is 5 bytes" in short_token.stderr
    assert "REPAIRTEXT_SECRET_KEY" not in short_token.stderr
    assert not (tmp_path / "serve.db").exists()  # refused before touching the database


def test_long_enough_secrets_pass_the_check():
    from repairtext.config import check_serving_secrets

    assert check_serving_secrets(Settings.from_env(env={"REPAIRTEXT_SECRET_KEY": "k" * 32,
                                                        "REPAIRTEXT_ADMIN_TOKEN": "a" * 32})) == []
    fallback = check_serving_secrets(Settings.from_env(env={"REPAIRTEXT_TWILIO_AUTH_TOKEN": "short"}))
    assert len(fallback) == 1 and "Twilio auth token stands in" in fallback[0]
