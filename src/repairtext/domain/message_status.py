"""The one rule for how an outbound text's status may change, whoever reports it (a send result, a receipt, a
parked receipt applied later, a failure).

A final status never moves. Otherwise a status moves only forward by rank, so callbacks that come twice or out of
order (`delivered` before `sent`) and a worker that lost its lease reporting late cannot take a text back: a text
another worker failed and refunded stays failed. The one move back is the outbox's own: a text marked `sending`
whose attempt never reached the provider returns to `queued` to wait for its retry.
"""

from __future__ import annotations

FINAL = frozenset({"delivered", "undelivered", "failed", "rejected"})
RANK = {"queued": 0, "sending": 1, "accepted": 2, "sent": 3, **{status: 9 for status in FINAL}}


def next_status(current: str, proposed: str) -> str | None:
    """The status a text in `current` takes when `proposed` is reported; None when it stays as it is."""
    if current in FINAL or current not in RANK or proposed not in RANK:
        return None
    if current == "sending" and proposed == "queued":
        return proposed
    return proposed if RANK[proposed] > RANK.get(current, 0) else None


def may_come_from(proposed: str) -> frozenset[str]:
    """Every status from which `proposed` may be taken: the guard of the one UPDATE that writes it."""
    return frozenset(current for current in RANK if next_status(current, proposed) == proposed)
