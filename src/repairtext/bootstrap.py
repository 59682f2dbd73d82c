"""Wires real adapters by configuration. Everything a use case needs hangs off one `Context`."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cached_property

import httpx

from repairtext.adapters.blobs import BlobStore, blob_store_for
from repairtext.adapters.db.engine import Database
from repairtext.adapters.event_hub import EventHub
from repairtext.adapters.metrics import Metrics
from repairtext.adapters.providers.base import Provider
from repairtext.adapters.providers.flowroute import FlowrouteProvider
from repairtext.adapters.providers.twilio import TwilioProvider
from repairtext.adapters.secrets_box import SecretBox
from repairtext.clock import Clock, SystemClock
from repairtext.config import Settings
from repairtext.domain.plans import Catalog, load_catalog


@dataclass
class Context:
    settings: Settings
    db: Database
    blobs: BlobStore
    clock: Clock = field(default_factory=SystemClock)
    catalog: Catalog = field(default_factory=load_catalog)
    # Sleep between media retries; injectable so tests of retry paths stay fast.
    media_backoff: float = 0.5
    # Event streams: a keep-alive comment this often, and closed (the client reconnects) after this long.
    event_keepalive: float = 15.0
    event_stream_lifetime: float = 3600.0
    # Seconds to wait for a provider's answer; past it the send is ambiguous and is looked up before a retry.
    provider_timeout: float = 10.0
    # Messages a look-up asks for a page (None: the provider's maximum); tests page small lists with it.
    lookup_page_size: int | None = None
    # Set by `repairtext demo`: the staff pages offer to answer as the customer through this simulator.
    demo_simulator_url: str | None = None
    # Set after a transaction queued work, so an inline worker starts at once instead of at its next poll.
    work_queued: threading.Event = field(default_factory=threading.Event)

    def notify_work(self) -> None:
        self.work_queued.set()

    @cached_property
    def secrets(self) -> SecretBox:
        return SecretBox(self.settings.secret_key)

    @cached_property
    def events(self) -> EventHub:
        return EventHub(self.settings.database_url, listen=not self.db.is_sqlite)

    @cached_property
    def metrics(self) -> Metrics:
        from repairtext.services.outbox import outbox_depth_and_age

        metrics = Metrics()
        metrics.watch_outbox(lambda: outbox_depth_and_age(self))
        return metrics

    @cached_property
    def http(self) -> httpx.Client:
        # One pooled client for every provider call; a send that hangs must not hold a worker for long.
        return httpx.Client(timeout=httpx.Timeout(self.provider_timeout, connect=5.0), limits=httpx.Limits(max_connections=50))

    def twilio(self) -> TwilioProvider | None:
        s = self.settings
        if not (s.twilio_account_sid and s.twilio_auth_token):
            return None
        return TwilioProvider(self.http, s.twilio_api_base, s.twilio_account_sid, s.twilio_auth_token,
                              **self._paging())

    def flowroute(self, access_key: str, secret_key: str) -> FlowrouteProvider:
        return FlowrouteProvider(self.http, self.settings.flowroute_api_base, access_key, secret_key, **self._paging())

    def _paging(self) -> dict:
        return {"page_size": self.lookup_page_size} if self.lookup_page_size else {}

    def provider_for(self, shop) -> Provider | None:
        return self.provider_named(shop.provider, shop)

    def provider_named(self, name: str, shop) -> Provider | None:
        if name == "flowroute":
            if not (shop.flowroute_access_key and shop.flowroute_secret_encrypted):
                return None
            return self.flowroute(shop.flowroute_access_key, self.secrets.open(shop.flowroute_secret_encrypted))
        return self.twilio()

    def close(self) -> None:
        if "http" in self.__dict__:
            self.http.close()
        if "events" in self.__dict__:
            self.events.close()
        self.db.dispose()


def build_context(settings: Settings, clock: Clock | None = None) -> Context:
    context = Context(
        settings=settings,
        db=Database(settings.database_url),
        blobs=blob_store_for(settings.blob_location, settings.s3_endpoint_url),
        clock=clock or SystemClock(),
    )
    context.db.event_sink = lambda event: context.events.publish(event)  # type: ignore[arg-type]
    context.db.status_counter = lambda provider, status: context.metrics.texts.labels(provider, status).inc()
    return context
