"""The platform's Twilio credentials go with a media download only to Twilio's own origins over https and to the
configured API base exactly: never to another allowed media host, another port, or plain http."""

from __future__ import annotations

import pytest
from support.credentials import TWILIO_SID, TWILIO_TOKEN
from support.inbound import (
    TWILIO_INBOUND,
    customer_comments,
    customer_with_number,
    jpeg,
    media,
    open_shop,
    phone_of,
    post_twilio,
    signature,
    twilio_form,
    twilio_text,
)
from support.loopback import LoopbackHTTP, reply

from repairtext.adapters.media import MediaFetcher


class _HeaderRecorder(LoopbackHTTP):
    """A plain-http media host on 127.0.0.1 (allowed in the tests) that serves a picture and keeps every request's
    headers."""

    def __init__(self):
        self.headers: list[dict[str, str]] = []
        self.picture = jpeg()
        super().__init__(self._answer)

    def _answer(self, request) -> None:
        self.headers.append({k.lower(): v for k, v in request.headers.items()})
        reply(request, 200, self.picture, Content_Type="image/jpeg")


@pytest.fixture
def recorder():
    server = _HeaderRecorder()
    yield server
    server.close()


def test_an_allowed_host_on_another_port_over_http_gets_no_credentials(shops, sim, worker, live_server, recorder):
    shop = open_shop(shops)
    customer = customer_with_number(shop)
    ticket = shop.ticket(customer["id"])
    photo = recorder.url("/Accounts/ME1/Media/ME2")  # the simulator's host, another port: not the API base
    form = twilio_form(shop, phone_of(customer), "my screen", NumMedia="1", MediaUrl0=photo,
                       MediaContentType0="image/jpeg")
    url = f"{live_server.url}{TWILIO_INBOUND}"
    assert post_twilio(url, form, signature(TWILIO_TOKEN, url, form)).status_code == 200
    worker.drain()

    assert len(recorder.headers) == 1
    assert "authorization" not in recorder.headers[0]
    [reply] = customer_comments(shop, ticket["id"])
    assert len(reply["attachments"]) == 1  # it needed no credentials, and it still arrived


def test_the_configured_api_base_gets_them(shops, sim, worker):
    """The simulator stands in for api.twilio.com and refuses media requests without the account's credentials."""
    shop = open_shop(shops)
    customer = customer_with_number(shop)
    ticket = shop.ticket(customer["id"])
    twilio_text(sim, shop, phone_of(customer), "my screen", items=[media(jpeg(), "image/jpeg")])
    worker.drain()

    [reply] = customer_comments(shop, ticket["id"])
    assert len(reply["attachments"]) == 1


@pytest.mark.parametrize("named", ["https://127.0.0.1", "http://127.0.0.1:1", "https://api.twilio.com"])
def test_origins_are_matched_on_scheme_host_and_port(recorder, named):
    with MediaFetcher(["127.0.0.1"]) as fetcher:
        fetcher.fetch(recorder.url("/m.jpg"), auth=(TWILIO_SID, TWILIO_TOKEN), auth_origins=[named])
        fetcher.fetch(recorder.url("/m.jpg"), auth=(TWILIO_SID, TWILIO_TOKEN),
                      auth_origins=[recorder.url("/").replace("127.0.0.1", "127.0.0.1.")])
    assert "authorization" not in recorder.headers[0]
    assert "authorization" in recorder.headers[1]  # the exact origin (a trailing dot is the same host)
