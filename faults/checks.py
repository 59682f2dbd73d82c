"""The end-of-scenario checks: what the simulator (the customer's phone, in effect) received against what the
API accepted, read with plain SQL from the database and GET /_sim/messages from the provider.

Every text the suite asks for carries a token of its own (in the ticket's subject, or the comment's SMS text),
so "sent once" is counted per request, not per database row: a retried request that recorded a second row
and texted the customer twice is a duplicate, as the customer would see it.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx
from sqlalchemy import text
from sqlalchemy.engine import Engine

from faults.client import Outcome, Webhook
from faults.procs import SRC

TOKEN = re.compile(r"\bfx[a-z]\d{4}[tab]\b")


@dataclass
class Row:
    scenario: str
    texts: int = 0
    sent_once: int = 0
    duplicates: int = 0
    lost: int = 0
    stuck: int = 0
    webhooks_2xx: int = 0
    comments: int = 0
    credits_ok: bool = False
    webhook_faults: int = 0  # 2xx webhooks without exactly one comment, and any webhook with two
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)  # the first few requests that went wrong, in full

    @property
    def failed(self) -> bool:
        return bool(self.duplicates or self.lost or self.stuck or not self.credits_ok or self.webhook_faults)


def _ids(shop_ids: list[int]) -> str:
    return ",".join(str(int(i)) for i in shop_ids)


def unfinished(engine: Engine, shop_ids: list[int]) -> tuple[int, int]:
    """(jobs pending or running, outbound texts queued or sending) for these shops."""
    with engine.connect() as db:
        jobs = db.execute(text(f"SELECT count(*) FROM jobs WHERE shop_id IN ({_ids(shop_ids)}) "
                               "AND state IN ('pending', 'running')")).scalar_one()
        texts = db.execute(text(f"SELECT count(*) FROM messages WHERE shop_id IN ({_ids(shop_ids)}) "
                                "AND direction = 'outbound' AND status IN ('queued', 'sending')")).scalar_one()
    return jobs, texts


def wait_drained(engine: Engine, shop_ids: list[int], within: float) -> float:
    """Until no job or text of these shops is left to do (bounded); returns the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        try:
            if unfinished(engine, shop_ids) == (0, 0):
                break
        except Exception:  # noqa: BLE001 - a database coming back up: ask again
            time.sleep(1.0)
        time.sleep(1.0)
    return time.monotonic() - started


def credits_check(env: dict[str, str]) -> tuple[bool, str]:
    """`repairtext credits check`, the operator's own command: exit 0 when ledger and balances agree."""
    result = subprocess.run([sys.executable, "-m", "repairtext.entrypoints.cli", "credits", "check"], check=False,
                            env={**env, "PYTHONPATH": str(SRC)}, capture_output=True, text=True, timeout=120)
    return result.returncode == 0, (result.stdout + result.stderr).strip()[-500:]


def _describe(token: str, outcome: Outcome | None, db_rows: list, at_provider: list[dict]) -> str:
    asked = (f"API answered {outcome.statuses} in {outcome.attempts} tries"
             + (", found it existing" if outcome.found_existing else "")) if outcome else "never asked for"
    rows = "; ".join(f"message {m.id} (ticket {m.ticket_id}, comment {m.comment_id}) {m.status} "
                     f"provider id {m.provider_id} after {m.send_attempts} attempts" for m in db_rows) or "none"
    sent = "; ".join(f"{m['id']} at {m['created_at']}" for m in at_provider) or "none"
    return f"{token}: {asked}; recorded: {rows}; at the provider: {sent}"


def check(row: Row, engine: Engine, sim: httpx.Client, env: dict[str, str], shop_ids: list[int],
          shop_senders: set[str], requests: dict[str, Outcome], webhooks: list[Webhook]) -> Row:
    ids = _ids(shop_ids)
    with engine.connect() as db:
        outbound = db.execute(text(
            f"SELECT id, ticket_id, comment_id, body, status, provider_id, credits, send_attempts, created_at "
            f"FROM messages WHERE shop_id IN ({ids}) "
            "AND direction = 'outbound'")).all()
        ledger = {r.message_id: (r.debited, r.refunded) for r in db.execute(text(
            f"SELECT message_id, -coalesce(sum(CASE WHEN kind = 'debit' THEN amount END), 0) AS debited, "
            f"coalesce(sum(CASE WHEN kind = 'refund' THEN amount END), 0) AS refunded FROM credit_ledger "
            f"WHERE shop_id IN ({ids}) AND message_id IS NOT NULL GROUP BY message_id"))}
        comment_bodies = Counter(db.execute(text(
            f"SELECT body FROM comments WHERE shop_id IN ({ids}) AND author = 'customer'")).scalars())
        jobs, waiting = unfinished(engine, shop_ids)
        failed_jobs = db.execute(text(f"SELECT count(*) FROM jobs WHERE shop_id IN ({ids}) AND state = 'failed'"
                                      )).scalar_one()
        retried_sends = db.execute(text(f"SELECT count(*) FROM messages WHERE shop_id IN ({ids}) AND direction = "
                                        "'outbound' AND send_attempts > 1")).scalar_one()
        no_final = db.execute(text(f"SELECT count(*) FROM messages WHERE shop_id IN ({ids}) AND direction = "
                                   "'outbound' AND status IN ('accepted', 'sent')")).scalar_one()

    sent = [m for m in sim.get("/_sim/messages").raise_for_status().json() if m["from"].lstrip("+") in shop_senders]
    at_provider = Counter(t for m in sent for t in TOKEN.findall(m["body"]))
    sim_ids = {m["id"]: m for m in sent}
    unknown = [m for m in sent if not TOKEN.search(m["body"])]
    rows_by_token: dict[str, list] = {}
    for m in outbound:
        for t in TOKEN.findall(m.body):
            rows_by_token.setdefault(t, []).append(m)

    failed_rows = mismatched = api_lost = 0
    for token in sorted(set(requests) | set(rows_by_token) | set(at_provider)):
        outcome = requests.get(token)
        db_rows = rows_by_token.get(token, [])
        live = [m for m in db_rows if m.status not in ("failed", "rejected")]
        n = at_provider.get(token, 0)
        counts = (row.duplicates, row.lost, mismatched, api_lost)
        if outcome is not None and outcome.accepted and not db_rows:
            api_lost += 1  # the API said yes and recorded no text
        if not live:
            if db_rows:  # no permanent error is injected: a text recorded failed is one the service gave up on
                failed_rows += 1
                row.lost += n == 0
            row.duplicates += n  # the customer got a text we recorded as failed, or not at all
        else:
            row.texts += 1
            if n == 1:
                row.sent_once += 1
            elif n == 0:
                row.lost += 1
            else:
                row.duplicates += n - 1
            for m in live:
                if m.provider_id and (m.provider_id not in sim_ids or token not in sim_ids[m.provider_id]["body"]):
                    mismatched += 1
        if counts != (row.duplicates, row.lost, mismatched, api_lost) and len(row.details) < 10:
            row.details.append(_describe(token, outcome, db_rows, [m for m in sent if token in m["body"]]))
    row.lost += api_lost
    row.duplicates += len(unknown)
    row.stuck = jobs + waiting

    bad_ledger = 0
    for m in outbound:
        debited, refunded = ledger.get(m.id, (0, 0))
        owed_back = m.credits if m.status == "failed" else 0
        if debited != m.credits or refunded != owed_back:
            bad_ledger += 1
    ok, output = credits_check(env)
    row.credits_ok = ok and not bad_ledger

    for w in webhooks:
        n = comment_bodies.get(w.body, 0)
        row.comments += n
        if w.got_2xx:
            row.webhooks_2xx += 1
            row.webhook_faults += n != 1
        else:
            row.webhook_faults += n > 1

    retried_requests = sum(1 for o in requests.values() if o.attempts > 1)
    notes = {"API requests tried more than once": retried_requests, "texts sent in more than one attempt": retried_sends,
             "texts the API accepted with nothing recorded": api_lost,
             "texts recorded failed": failed_rows, "provider ids matching no provider message": mismatched,
             "provider messages with no token": len(unknown), "messages whose ledger is off": bad_ledger,
             "webhooks without exactly one comment": row.webhook_faults, "jobs failed": failed_jobs,
             "jobs/texts unfinished": jobs + waiting, "texts without a final status yet (info: receipts lost or still coming)": no_final}
    row.notes += [f"{label}: {count}" for label, count in notes.items() if count]
    if not ok:
        row.notes.append(f"credits check: {output}")
    row.lost += mismatched
    return row
