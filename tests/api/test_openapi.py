"""The public interface of api.md is all there, documented at /openapi.json and /docs."""

from __future__ import annotations

import httpx

API_MD = {
    ("get", "/api/v1/shop"), ("patch", "/api/v1/shop"), ("post", "/api/v1/customers"),
    ("get", "/api/v1/customers/{customer_id}"), ("patch", "/api/v1/customers/{customer_id}"),
    ("post", "/api/v1/tickets"), ("get", "/api/v1/tickets/{ticket_id}"), ("patch", "/api/v1/tickets/{ticket_id}"),
    ("post", "/api/v1/tickets/{ticket_id}/comments"), ("get", "/api/v1/tickets/{ticket_id}/comments"),
    ("get", "/api/v1/messages"), ("get", "/api/v1/templates"), ("put", "/api/v1/templates/{trigger}"),
    ("post", "/api/v1/templates/preview"), ("get", "/api/v1/credits"), ("post", "/api/v1/credits/addons"),
    ("get", "/api/v1/reports/consumables"), ("get", "/api/v1/inbox"), ("post", "/api/v1/inbox/{message_id}/assign"),
    ("post", "/api/v1/inbox/{message_id}/dismiss"),
    ("post", "/webhooks/twilio/inbound"), ("post", "/webhooks/twilio/status"),
    ("post", "/webhooks/flowroute/{token}/inbound"), ("post", "/webhooks/flowroute/{token}/status"),
}


def test_every_endpoint_of_api_md_is_documented(app, live_server):
    spec = httpx.get(f"{live_server.url}/openapi.json").json()
    documented = {(method, path) for path, ops in spec["paths"].items() for method in ops}
    assert documented >= API_MD, API_MD - documented
    docs = httpx.get(f"{live_server.url}/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
