"""Download the media of an inbound MMS, safely.

The URLs come from a webhook body, so they are attacker-controlled input: a forged or compromised callback
could point us at an internal address (SSRF) or at an endless body. Hence:

* only http/https URLs whose host is on an allowlist are fetched, and every redirect hop is checked again
  (Twilio answers its media URL with a redirect to its media CDN / S3, so redirects must be followed, by hand);
* Basic auth (Twilio wants the account's SID and token on media URLs) goes only to the origins (scheme, host
  and port) the caller names for it, never to another port, to plain http, or to a host a redirect sends us to;
* the body is streamed and dropped as soon as it passes ``max_bytes`` (Twilio caps MMS media at 5 MB), with
  a bounded decoder should a server compress it anyway, so a small gzip body cannot inflate in memory;
* Twilio's media URL can answer 404 for a second or so right after the webhook, so 404 is retried along with
  the usual transient failures (408, 429, 5xx, connection errors, timeouts).

See /work/shared/reference/providers.md ("Inbound message") for the provider side.
"""

from __future__ import annotations

import random
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import httpx

MAX_REDIRECTS = 5
RETRY_AFTER_CAP = 30.0  # seconds; a longer Retry-After is better handled by rescheduling the outbox job
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
RETRYABLE_STATUSES = frozenset({404, 408, 429})  # plus every 5xx


class MediaError(Exception):
    """A media item could not be fetched; ``reason`` is fit to show a person or to log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MediaHostNotAllowed(MediaError):
    """The URL (or a redirect) leads somewhere we must not go. Permanent."""


class MediaTooLarge(MediaError):
    """The body is larger than ``max_bytes``. Permanent."""


class MediaUnavailable(MediaError):
    """The server would not hand the media over.

    ``transient`` is True when retries ran out on a failure that might clear later (404, 5xx, timeouts):
    a caller may reschedule. ``status_code`` is the last HTTP status seen, if any. ``wait`` is set when the next
    try was due later than the fetcher may sleep (``max_sleep``): the seconds to wait before asking again.
    """

    def __init__(self, reason: str, *, transient: bool = False, status_code: int | None = None,
                 wait: float | None = None) -> None:
        super().__init__(reason)
        self.transient = transient
        self.status_code = status_code
        self.wait = wait


class _Retryable(Exception):
    """Internal: this attempt failed in a way worth another try."""

    def __init__(self, reason: str, *, status_code: int | None = None, delay: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status_code = status_code
        self.delay = delay


@dataclass(frozen=True)
class FetchedMedia:
    data: bytes
    declared_type: str | None  # the server's Content-Type, unverified: sniff the bytes before trusting it
    final_url: str


class HostAllowlist:
    """Exact host names, or ``*.example.com`` for any subdomain of example.com (not example.com itself).

    Host names are compared lower-cased and in their ASCII (IDNA) form; the port is ignored. ``localhost``
    and ``127.0.0.1`` are different names here, on purpose: we match what the URL says, nothing resolved.
    """

    def __init__(self, patterns: Iterable[str]) -> None:
        self._exact: set[str] = set()
        self._suffixes: list[str] = []
        for pattern in patterns:
            pattern = _normalise_host(pattern)
            if pattern.startswith("*."):
                self._suffixes.append(pattern[1:])  # keep the dot: "*.x.com" must not match "evilx.com"
            else:
                self._exact.add(pattern)

    def allows(self, host: str) -> bool:
        host = _normalise_host(host)
        return host in self._exact or any(host.endswith(suffix) for suffix in self._suffixes)


def _normalise_host(host: str) -> str:
    return host.strip().lower().rstrip(".")


class MediaFetcher:
    """Fetches one media URL at a time; share one instance (and its connection pool) per worker."""

    def __init__(
        self,
        allowed_hosts: Iterable[str],
        *,
        max_bytes: int = 5 * 1024 * 1024,
        attempts: int = 4,
        backoff: float = 0.5,
        timeout: float = 10.0,
        total_timeout: float = 60.0,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_sleep: float | None = None,
    ) -> None:
        """``timeout`` bounds each network operation (connect, each read); ``total_timeout`` bounds one
        whole attempt, so a server dripping a byte every few seconds cannot hold a worker forever. A retry due
        later than ``max_sleep`` seconds is not waited for: MediaUnavailable says how long to wait instead (the
        worker re-queues the job rather than hold a thread)."""
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self._allowlist = HostAllowlist(allowed_hosts)
        self._max_bytes = max_bytes
        self._attempts = attempts
        self._backoff = backoff
        self._timeout = httpx.Timeout(timeout)
        self._total_timeout = total_timeout
        self._sleep = sleep
        self._max_sleep = max_sleep
        self._owns_client = client is None
        self._client = client or httpx.Client(follow_redirects=False)

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> MediaFetcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def fetch(self, url: str, *, auth: tuple[str, str] | None = None, auth_origins: Iterable[str] = ()) -> FetchedMedia:
        """Download ``url``; ``auth`` is HTTP Basic (user, password), sent only to a request whose origin is one
        of ``auth_origins`` (e.g. ``https://api.twilio.com``; the port is implied by the scheme unless given).

        Raises MediaHostNotAllowed, MediaTooLarge or MediaUnavailable (all MediaError).
        """
        start = self._checked_url(url)
        origins = frozenset(_origin(httpx.URL(o)) for o in auth_origins) if auth else frozenset()
        last: _Retryable | None = None
        for attempt in range(1, self._attempts + 1):
            if last is not None:
                delay = self._delay_before(attempt, last)
                if self._max_sleep is not None and max(delay, last.delay or 0.0) > self._max_sleep:
                    raise MediaUnavailable(
                        f"media at {_describe(start)} is not available yet ({last.reason})", transient=True,
                        status_code=last.status_code, wait=max(delay, last.delay or 0.0))
                self._sleep(delay)
            try:
                # Each attempt restarts from the original URL: redirect targets (signed S3 URLs) expire.
                return self._attempt(start, auth, origins)
            except _Retryable as failure:
                last = failure
        assert last is not None
        raise MediaUnavailable(
            f"media at {_describe(start)} was not available after {self._attempts} attempts ({last.reason})",
            transient=True,
            status_code=last.status_code,
        )

    def _delay_before(self, attempt: int, failure: _Retryable) -> float:
        """Exponential backoff with jitter (half fixed, half random, so retries of many jobs spread out
        but never come back at once); a server's Retry-After wins when it asks for longer."""
        base = self._backoff * 2 ** (attempt - 2)
        delay = base / 2 + random.uniform(0, base / 2)
        if failure.delay is not None:
            delay = max(delay, min(failure.delay, RETRY_AFTER_CAP))
        return delay

    def _attempt(self, start: httpx.URL, auth: tuple[str, str] | None, origins: frozenset[str]) -> FetchedMedia:
        deadline = time.monotonic() + self._total_timeout
        url = start
        for _hop in range(MAX_REDIRECTS + 1):
            hop_auth = httpx.BasicAuth(*auth) if auth and _origin(url) in origins else None
            with self._get(url, hop_auth) as response:
                if response.status_code in REDIRECT_STATUSES and "location" in response.headers:
                    url = self._redirect_target(url, response.headers["location"])
                    continue
                _check_status(response, url)
                data = self._read_body(response, url, deadline)
                return FetchedMedia(data=data, declared_type=_media_type(response), final_url=str(url))
        raise MediaUnavailable(f"media at {_describe(start)} redirected more than {MAX_REDIRECTS} times")

    @contextmanager
    def _get(self, url: httpx.URL, auth: httpx.BasicAuth | None) -> Iterator[httpx.Response]:
        """One GET, streamed; network failures become retryable. ``identity`` asks the server not to
        compress (images already are); _BodyDecoder copes if it does anyway."""
        headers = {"Accept-Encoding": "identity"}
        try:
            with self._client.stream(
                "GET", url, headers=headers, auth=auth, timeout=self._timeout, follow_redirects=False
            ) as response:
                yield response
        except httpx.TimeoutException as exc:
            raise _Retryable(f"timed out: {type(exc).__name__}") from exc
        except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            raise _Retryable(f"connection failed: {type(exc).__name__}") from exc

    def _checked_url(self, raw: str | httpx.URL) -> httpx.URL:
        """Refuse anything but http(s) to an allowed host; this is the SSRF gate, applied to every hop."""
        try:
            url = httpx.URL(raw)
        except (httpx.InvalidURL, TypeError) as exc:
            raise MediaHostNotAllowed(f"media URL {str(raw)[:200]!r} is not a valid URL") from exc
        if url.scheme not in ("http", "https"):
            scheme = url.scheme or "(none)"
            raise MediaHostNotAllowed(f"media URL scheme {scheme!r} is not allowed (only http and https)")
        host = url.raw_host.decode("ascii")
        if not host or not self._allowlist.allows(host):
            raise MediaHostNotAllowed(f"host {host or '(none)'} is not an allowed media host")
        if url.userinfo:  # credentials are ours to add (and only for their origin), never the URL's
            raise MediaHostNotAllowed("media URL must not carry a user name or password")
        return url

    def _redirect_target(self, current: httpx.URL, location: str) -> httpx.URL:
        try:
            target = current.join(location)
        except httpx.InvalidURL as exc:
            raise MediaHostNotAllowed(f"redirect from {_describe(current)} to an invalid URL") from exc
        return self._checked_url(target)

    def _read_body(self, response: httpx.Response, url: httpx.URL, deadline: float) -> bytes:
        """Read at most max_bytes (+ one network read, 64 KB in httpcore); refuse at once if Content-Length
        says too big."""
        declared = _content_length(response)
        if declared is not None and declared > self._max_bytes:
            raise MediaTooLarge(self._too_large(url, f"declared {declared} bytes"))
        decoder = _BodyDecoder(response.headers.get("content-encoding", ""), url)
        body = bytearray()
        try:
            for chunk in response.iter_raw():  # as received: a chunk size would buffer and blind the deadline
                body += decoder.decode(chunk, room=self._max_bytes - len(body) + 1)
                if len(body) > self._max_bytes:
                    raise MediaTooLarge(self._too_large(url, "body kept going"))
                if time.monotonic() > deadline:
                    raise _Retryable(f"download took longer than {self._total_timeout:g} s")
        except httpx.TimeoutException as exc:
            raise _Retryable(f"timed out reading the body: {type(exc).__name__}") from exc
        except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            raise _Retryable(f"connection failed reading the body: {type(exc).__name__}") from exc
        return bytes(body)

    def _too_large(self, url: httpx.URL, detail: str) -> str:
        return f"media at {_describe(url)} is larger than the {self._max_bytes}-byte limit ({detail})"


class _BodyDecoder:
    """Undo gzip/deflate with a cap on the output of each call, so a tiny compressed body cannot expand
    past the size limit in memory (httpx's own decoders inflate a whole chunk at once)."""

    def __init__(self, encoding: str, url: httpx.URL) -> None:
        encoding = encoding.strip().lower()
        if encoding in ("", "identity"):
            self._inflater = None
        elif encoding in ("gzip", "x-gzip"):
            self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._inflater = zlib.decompressobj()
        else:
            raise MediaUnavailable(f"media at {_describe(url)} came in an unsupported encoding {encoding!r}")
        self._url = url

    def decode(self, chunk: bytes, *, room: int) -> bytes:
        """At most ``room`` bytes; when fewer come out, the whole chunk was consumed."""
        if self._inflater is None:
            return chunk
        try:
            return self._inflater.decompress(chunk, room)
        except zlib.error as exc:
            raise MediaUnavailable(f"media at {_describe(self._url)} is corrupt ({exc})") from exc


def _check_status(response: httpx.Response, url: httpx.URL) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    if status in RETRYABLE_STATUSES or status >= 500:
        raise _Retryable(f"last: HTTP {status}", status_code=status, delay=_retry_after(response))
    raise MediaUnavailable(f"media at {_describe(url)} was refused: HTTP {status}", status_code=status)


def _retry_after(response: httpx.Response) -> float | None:
    """Retry-After is either seconds or an HTTP date (RFC 9110 10.2.3); Twilio sends it with 429."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _content_length(response: httpx.Response) -> int | None:
    value = response.headers.get("content-length", "")
    return int(value) if value.strip().isdigit() else None


def _media_type(response: httpx.Response) -> str | None:
    value = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return value or None


def _origin(url: httpx.URL) -> str:
    """Scheme, host and port, the port spelled out (https://h and https://h:443 are one origin): credentials
    stay with exactly the origins they were given for, never the same host on another port or in clear text."""
    port = url.port or {"https": 443, "http": 80}.get(url.scheme)
    return f"{url.scheme}://{url.raw_host.decode('ascii').lower().rstrip('.')}:{port}"


def _describe(url: httpx.URL) -> str:
    """The URL without its query, which on a signed S3 redirect holds a signature."""
    return str(url.copy_with(query=None, fragment=None))
