"""Prometheus metrics (prometheus-client), one registry per Context so two apps in one process never share.

Counters and the webhook histogram are this process's own: Prometheus sums them over every `serve` and
`worker` process it scrapes, which is what they mean. The outbox gauges describe the whole deployment, so they
are read from the database at scrape time (aggregate them with max(), not sum(), across processes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Webhooks must answer well inside Twilio's 15 s; the interesting range is a few ms to a second.
WEBHOOK_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0)


class OutboxCollector:
    """Outbox depth and the age of its oldest due job, read from the database when scraped."""

    def __init__(self, read: Callable[[], tuple[int, float]]):
        self._read = read

    def describe(self) -> Iterable[Metric]:
        # Given, so that registering reads nothing from the database.
        return self._families()

    def collect(self) -> Iterable[Metric]:
        return self._families(*self._read())

    @staticmethod
    def _families(depth: float | None = None, oldest: float | None = None) -> list[Metric]:
        return [GaugeMetricFamily("repairtext_outbox_depth", "Jobs waiting or running in the outbox.", value=depth),
                GaugeMetricFamily("repairtext_outbox_oldest_seconds",
                                  "Age of the oldest job that is due and not done.", value=oldest)]


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.texts = Counter("repairtext_texts", "Outbound texts entering a status, by provider and status.",
                             ["provider", "status"], registry=self.registry)
        self.inbound = Counter("repairtext_inbound_texts", "Inbound texts stored, by provider.",
                               ["provider"], registry=self.registry)
        self.credits_debited = Counter("repairtext_credits_debited", "Credits debited for texts.",
                                       registry=self.registry)
        self.credits_refunded = Counter("repairtext_credits_refunded", "Credits given back for texts that failed.",
                                        registry=self.registry)
        self.webhook_seconds = Histogram("repairtext_webhook_seconds", "Time to answer a provider's webhook.",
                                         ["provider", "kind"], buckets=WEBHOOK_BUCKETS, registry=self.registry)

    def watch_outbox(self, read: Callable[[], tuple[int, float]]) -> None:
        self.registry.register(OutboxCollector(read))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
