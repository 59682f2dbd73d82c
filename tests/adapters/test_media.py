"""Media download against a real HTTP server on 127.0.0.1 (stdlib, in a thread)."""

from __future__ import annotations

import base64
import contextlib
import gzip
import io
import socket
import threading
import time
import tracemalloc
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image

from repairtext.adapters.images import process_image
from repairtext.adapters.media import (
    FetchedMedia,
    HostAllowlist,
    MediaFetcher,
    MediaHostNotAllowed,
    MediaTooLarge,
    MediaUnavailable,
)

Respond = Callable[[BaseHTTPRequestHandler], None]
SID, TOKEN = "AC" + "0" * 32, "secret-token"


def png(size=(40, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


class MediaServer:
    """Serves routes set by each test and records every request it got (path, headers)."""

    def __init__(self) -> None:
        self.routes: dict[str, Respond] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                server.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                respond = server.routes.get(self.path.split("?")[0], serve(b"not found", status=404))
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client hung up on purpose (size cap, timeout)
                    respond(self)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def hits(self, path: str) -> list[dict[str, str]]:
        return [headers for seen, headers in self.requests if seen.split("?")[0] == path]

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def serve(body: bytes, *, status: int = 200, content_type: str | None = "image/png", headers=None) -> Respond:
    def respond(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        if content_type:
            handler.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return respond


def redirect(location: str, status: int = 302) -> Respond:
    return serve(b"", status=status, content_type=None, headers={"Location": location})


def failing(times: int, then: Respond, *, status: int = 404, headers=None) -> Respond:
    calls = []

    def respond(handler: BaseHTTPRequestHandler) -> None:
        calls.append(1)
        if len(calls) <= times:
            serve(b"not yet", status=status, content_type="text/plain", headers=headers)(handler)
        else:
            then(handler)

    return respond


def delayed(seconds: float, times: int, then: Respond) -> Respond:
    calls = []

    def respond(handler: BaseHTTPRequestHandler) -> None:
        calls.append(1)
        if len(calls) <= times:
            time.sleep(seconds)
        then(handler)

    return respond


def requiring_basic_auth(user: str, password: str, then: Respond) -> Respond:
    expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    def respond(handler: BaseHTTPRequestHandler) -> None:
        if handler.headers.get("Authorization") != expected:
            serve(b"auth required", status=401, content_type="text/plain")(handler)
        else:
            then(handler)

    return respond


class Endless:
    """A body with no Content-Length (HTTP/1.0, ends when the connection closes) that would go on for
    far longer than any sane download; records whether it ever got to the end."""

    def __init__(self, total: int = 500 * 1024 * 1024) -> None:
        self.total = total
        self.finished = False

    def __call__(self, handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "image/jpeg")
        handler.end_headers()
        chunk = b"\xff" * 65536
        for _ in range(self.total // len(chunk)):
            handler.wfile.write(chunk)
        self.finished = True


@pytest.fixture
def server():
    running = MediaServer()
    yield running
    running.stop()


@pytest.fixture
def other_server():
    running = MediaServer()
    yield running
    running.stop()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def make_fetcher(sleeps):
    made: list[MediaFetcher] = []

    def make(allowed=("127.0.0.1",), **options) -> MediaFetcher:
        options.setdefault("sleep", sleeps.append)
        options.setdefault("timeout", 2.0)
        fetcher = MediaFetcher(allowed, **options)
        made.append(fetcher)
        return fetcher

    yield make
    for fetcher in made:
        fetcher.close()


# --- the happy path ----------------------------------------------------------------------------------


def test_fetches_the_body_with_its_declared_type(server, make_fetcher):
    body = png()
    server.routes["/media/ME1"] = serve(body, content_type="image/PNG; charset=binary")

    fetched = make_fetcher().fetch(server.url("/media/ME1"))

    assert fetched == FetchedMedia(data=body, declared_type="image/png", final_url=server.url("/media/ME1"))


def test_missing_content_type_is_none(server, make_fetcher):
    server.routes["/m"] = serve(b"abc", content_type=None)

    assert make_fetcher().fetch(server.url("/m")).declared_type is None


def test_declared_type_is_only_a_claim_the_bytes_decide(server, make_fetcher):
    server.routes["/m"] = serve(png(), content_type="image/jpeg")

    fetched = make_fetcher().fetch(server.url("/m"))

    assert fetched.declared_type == "image/jpeg"
    assert process_image(fetched.data).content_type == "image/png"


def test_follows_redirects_to_an_allowed_host_and_reports_the_final_url(server, other_server, make_fetcher):
    body = png()
    server.routes["/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"] = redirect(
        other_server.url("/s3/ME1?X-Amz-Signature=abc", host="localhost"))
    other_server.routes["/s3/ME1"] = serve(body)

    fetched = make_fetcher(["127.0.0.1", "localhost"]).fetch(
        server.url("/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"))

    assert fetched.data == body
    assert fetched.final_url == other_server.url("/s3/ME1?X-Amz-Signature=abc", host="localhost")


def test_gzip_encoded_body_is_decoded(server, make_fetcher):
    body = b"BEGIN:VCARD\r\nFN:Jane\r\nEND:VCARD\r\n" * 20
    server.routes["/card"] = serve(gzip.compress(body), content_type="text/vcard", headers={"Content-Encoding": "gzip"})

    assert make_fetcher().fetch(server.url("/card")).data == body


# --- allowlist: no SSRF ------------------------------------------------------------------------------


def test_host_not_on_the_allowlist_is_refused_without_a_request(server, make_fetcher):
    with pytest.raises(MediaHostNotAllowed) as refused:
        make_fetcher(["api.twilio.com"]).fetch(server.url("/media"))

    assert refused.value.reason == "host 127.0.0.1 is not an allowed media host"
    assert server.requests == []


@pytest.mark.parametrize("allowed, host", [("127.0.0.1", "localhost"), ("localhost", "127.0.0.1")])
def test_localhost_and_127_0_0_1_are_different_hosts(server, make_fetcher, allowed, host):
    with pytest.raises(MediaHostNotAllowed) as refused:
        make_fetcher([allowed]).fetch(server.url("/media", host=host))

    assert host in refused.value.reason
    assert server.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://127.0.0.1/media",
        "gopher://127.0.0.1:70/_GET",
        "data:image/png;base64,iVBORw0KGgo=",
        "/relative/path",
        "http://",
    ],
)
def test_only_http_and_https_urls_are_fetched(make_fetcher, url):
    with pytest.raises(MediaHostNotAllowed):
        make_fetcher().fetch(url)


def test_credentials_in_the_url_are_refused(server, make_fetcher):
    with pytest.raises(MediaHostNotAllowed):
        make_fetcher().fetch(server.url("/media", host="user:pw@127.0.0.1"))
    with pytest.raises(MediaHostNotAllowed) as refused:
        make_fetcher().fetch(f"http://127.0.0.1@evil.example:{server.port}/media")  # host is evil.example

    assert "evil.example" in refused.value.reason
    assert server.requests == []


@pytest.mark.parametrize(
    "target",
    ["http://169.254.169.254/latest/meta-data/", "http://localhost:{port}/media", "file:///etc/passwd"],
)
def test_redirect_to_a_disallowed_place_is_refused(server, make_fetcher, target):
    server.routes["/media"] = redirect(target.format(port=server.port))

    with pytest.raises(MediaHostNotAllowed):
        make_fetcher().fetch(server.url("/media"))

    assert len(server.requests) == 1  # the redirect was not followed


def test_redirect_loop_stops_after_five_hops(server, make_fetcher, sleeps):
    server.routes["/loop"] = redirect("/loop")

    with pytest.raises(MediaUnavailable) as refused:
        make_fetcher().fetch(server.url("/loop"))

    assert "redirected more than 5 times" in refused.value.reason
    assert len(server.hits("/loop")) == 6
    assert sleeps == []


def test_wildcard_patterns_match_subdomains_only():
    allowlist = HostAllowlist(["*.twiliocdn.com", "API.Twilio.com"])

    assert allowlist.allows("media.twiliocdn.com")
    assert allowlist.allows("a.b.TwilioCDN.com")
    assert allowlist.allows("api.twilio.com")
    assert not allowlist.allows("twiliocdn.com")
    assert not allowlist.allows("eviltwiliocdn.com")
    assert not allowlist.allows("media.twiliocdn.com.evil.example")
    assert not allowlist.allows("media.api.twilio.com")


def test_port_is_ignored_by_the_allowlist(server, make_fetcher):
    server.routes["/m"] = serve(b"ok")

    assert make_fetcher(["127.0.0.1"]).fetch(server.url("/m")).data == b"ok"


# --- Basic auth goes only to the origins named for it ---------------------------------------------


def test_basic_auth_is_sent_to_the_media_url(server, make_fetcher):
    server.routes["/media"] = requiring_basic_auth(SID, TOKEN, serve(b"picture"))

    fetched = make_fetcher().fetch(server.url("/media"), auth=(SID, TOKEN), auth_origins=[server.url("/")])
    assert fetched.data == b"picture"


def test_basic_auth_is_not_sent_to_the_host_a_redirect_leads_to(server, other_server, make_fetcher):
    server.routes["/media"] = requiring_basic_auth(
        SID, TOKEN, redirect(other_server.url("/cdn/ME1", host="localhost")))
    other_server.routes["/cdn/ME1"] = serve(b"picture")

    fetched = make_fetcher(["127.0.0.1", "localhost"]).fetch(server.url("/media"), auth=(SID, TOKEN),
                                                             auth_origins=[server.url("/")])

    assert fetched.data == b"picture"
    assert "authorization" in server.hits("/media")[0]
    assert "authorization" not in other_server.hits("/cdn/ME1")[0]


def test_basic_auth_is_not_sent_to_another_port_of_the_same_host(server, other_server, make_fetcher):
    server.routes["/media"] = redirect(other_server.url("/cdn/ME1"))
    other_server.routes["/cdn/ME1"] = serve(b"picture")

    make_fetcher().fetch(server.url("/media"), auth=(SID, TOKEN), auth_origins=[server.url("/")])

    assert "authorization" not in other_server.hits("/cdn/ME1")[0]


def test_basic_auth_follows_a_redirect_within_the_same_origin(server, make_fetcher):
    server.routes["/media"] = redirect("/media/resolved")
    server.routes["/media/resolved"] = requiring_basic_auth(SID, TOKEN, serve(b"picture"))

    fetched = make_fetcher().fetch(server.url("/media"), auth=(SID, TOKEN), auth_origins=[server.url("/")])
    assert fetched.data == b"picture"


def test_wrong_credentials_are_a_permanent_failure(server, make_fetcher, sleeps):
    server.routes["/media"] = requiring_basic_auth(SID, TOKEN, serve(b"picture"))

    with pytest.raises(MediaUnavailable) as refused:
        make_fetcher().fetch(server.url("/media"), auth=(SID, "wrong"), auth_origins=[server.url("/")])

    assert (refused.value.status_code, refused.value.transient) == (401, False)
    assert len(server.requests) == 1 and sleeps == []


# --- size cap ----------------------------------------------------------------------------------------


def test_content_length_over_the_cap_is_refused_before_reading(server, make_fetcher):
    release = threading.Event()

    def announces_six_megabytes(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", str(6 * 1024 * 1024))
        handler.end_headers()
        handler.wfile.flush()
        release.wait(5)  # sends no body: a client that tried to read it would time out instead

    server.routes["/big"] = announces_six_megabytes
    started = time.monotonic()
    try:
        with pytest.raises(MediaTooLarge) as refused:
            make_fetcher(timeout=3.0).fetch(server.url("/big"))
    finally:
        release.set()

    assert time.monotonic() - started < 2.0
    assert "5242880-byte limit" in refused.value.reason


def test_body_without_content_length_is_cut_off_at_the_cap(server, make_fetcher, sleeps):
    endless = Endless()
    server.routes["/stream"] = endless

    with pytest.raises(MediaTooLarge):
        make_fetcher(max_bytes=256 * 1024).fetch(server.url("/stream"))

    assert not endless.finished
    assert len(server.requests) == 1 and sleeps == []


def test_body_exactly_at_the_cap_is_accepted(server, make_fetcher):
    server.routes["/exact"] = serve(b"x" * 1000)

    assert len(make_fetcher(max_bytes=1000).fetch(server.url("/exact")).data) == 1000
    with pytest.raises(MediaTooLarge):
        make_fetcher(max_bytes=999).fetch(server.url("/exact"))


def test_gzip_bomb_is_cut_off_at_the_cap(server, make_fetcher):
    bomb = gzip.compress(b"\x00" * (20 * 1024 * 1024))
    assert len(bomb) < 100 * 1024
    server.routes["/bomb"] = serve(bomb, content_type="image/jpeg", headers={"Content-Encoding": "gzip"})

    fetcher = make_fetcher(max_bytes=1024 * 1024)

    tracemalloc.start()
    try:
        with pytest.raises(MediaTooLarge):
            fetcher.fetch(server.url("/bomb"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < 4 * 1024 * 1024  # never inflated anywhere near the 20 MB it holds


# --- retries -----------------------------------------------------------------------------------------


def test_404_twice_then_works(server, make_fetcher, sleeps):
    body = png()
    server.routes["/media"] = failing(2, serve(body), status=404)

    fetched = make_fetcher(backoff=0.5).fetch(server.url("/media"))

    assert fetched.data == body
    assert len(server.hits("/media")) == 3
    assert len(sleeps) == 2
    assert 0.25 <= sleeps[0] <= 0.5 and 0.5 <= sleeps[1] <= 1.0  # exponential, with jitter


def test_permanent_403_fails_at_once(server, make_fetcher, sleeps):
    server.routes["/media"] = serve(b"forbidden", status=403, content_type="text/plain")

    with pytest.raises(MediaUnavailable) as refused:
        make_fetcher().fetch(server.url("/media"))

    assert (refused.value.status_code, refused.value.transient) == (403, False)
    assert "HTTP 403" in refused.value.reason
    assert len(server.requests) == 1 and sleeps == []


def test_retries_run_out_on_a_server_that_keeps_failing(server, make_fetcher, sleeps):
    server.routes["/media"] = serve(b"oops", status=503, content_type="text/plain")

    with pytest.raises(MediaUnavailable) as refused:
        make_fetcher(attempts=3).fetch(server.url("/media"))

    assert (refused.value.status_code, refused.value.transient) == (503, True)
    assert "after 3 attempts" in refused.value.reason
    assert len(server.requests) == 3 and len(sleeps) == 2


def test_429_honours_retry_after_up_to_a_cap(server, make_fetcher, sleeps):
    server.routes["/short"] = failing(1, serve(b"ok"), status=429, headers={"Retry-After": "7"})
    server.routes["/long"] = failing(1, serve(b"ok"), status=429, headers={"Retry-After": "3600"})

    assert make_fetcher().fetch(server.url("/short")).data == b"ok"
    assert make_fetcher().fetch(server.url("/long")).data == b"ok"

    assert sleeps == [7.0, 30.0]


def test_timeout_is_retried(server, make_fetcher, sleeps):
    server.routes["/slow"] = delayed(1.0, 1, serve(b"ok"))

    fetched = make_fetcher(timeout=0.2).fetch(server.url("/slow"))

    assert fetched.data == b"ok"
    assert len(server.hits("/slow")) == 2 and len(sleeps) == 1


def test_a_body_trickling_in_is_given_up_after_the_total_timeout(server, make_fetcher, sleeps):
    def trickle(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", "1000")
        handler.end_headers()
        for _ in range(100):
            handler.wfile.write(b"x")
            handler.wfile.flush()
            time.sleep(0.02)

    server.routes["/drip"] = trickle

    with pytest.raises(MediaUnavailable) as refused:
        make_fetcher(attempts=2, timeout=1.0, total_timeout=0.2).fetch(server.url("/drip"))

    assert refused.value.transient
    assert "longer than 0.2 s" in refused.value.reason
    assert len(server.requests) == 2


def test_connection_refused_is_retried_then_reported(make_fetcher, sleeps):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]

    with pytest.raises(MediaUnavailable) as refused:
        make_fetcher(attempts=3).fetch(f"http://127.0.0.1:{closed_port}/media")

    assert refused.value.transient and refused.value.status_code is None
    assert len(sleeps) == 2


def test_each_attempt_starts_again_from_the_original_url(server, other_server, make_fetcher):
    # A signed CDN URL may have expired by the next attempt; the media URL hands out a fresh one.
    server.routes["/media"] = redirect(other_server.url("/cdn"))
    other_server.routes["/cdn"] = failing(1, serve(b"ok"), status=404)

    assert make_fetcher().fetch(server.url("/media")).data == b"ok"
    assert len(server.hits("/media")) == 2


def test_reason_does_not_leak_a_signed_query(server, other_server, make_fetcher):
    server.routes["/media"] = redirect(other_server.url("/cdn?X-Amz-Signature=s3cr3t"))
    other_server.routes["/cdn"] = serve(b"gone", status=410, content_type="text/plain")

    with pytest.raises(MediaUnavailable) as refused:
        make_fetcher().fetch(server.url("/media"))

    assert "s3cr3t" not in refused.value.reason
    assert refused.value.status_code == 410
