"""`make faults`: repairtext's exactly-once promise under injected faults, end to end, counted.

Starts a PostgreSQL cluster of its own, a `repairtext simulator`, `repairtext serve` and `repairtext worker`
processes, then runs each scenario (see scenarios.py) and prints one line of counts per scenario. Exits 1 on
any duplicate, loss, stuck item, ledger disagreement or webhook without exactly one comment.

    python faults/run.py [--texts 300] [--webhooks 40] [--only workers,provider,database,server] [--keep]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from faults.checks import Row
from faults.scenarios import SCENARIOS, Options, run_scenario
from faults.stack import Stack

COLUMNS = ("scenario", "texts", "sent once", "duplicates", "lost", "stuck", "webhooks 2xx", "comments",
           "credits check", "seconds")


def table(rows: list[Row]) -> str:
    cells = [COLUMNS] + [(r.scenario, r.texts, r.sent_once, r.duplicates, r.lost, r.stuck, r.webhooks_2xx,
                          r.comments, "ok" if r.credits_ok else "FAIL", f"{r.seconds:.0f}") for r in rows]
    widths = [max(len(str(row[i])) for row in cells) for i in range(len(COLUMNS))]
    lines = ["  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
             for row in cells]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=300, help="texts asked for per scenario (default 300)")
    parser.add_argument("--webhooks", type=int, default=40, help="inbound webhooks per scenario, each posted twice")
    parser.add_argument("--clients", type=int, default=6, help="concurrent API clients")
    parser.add_argument("--load-seconds", type=float, default=20.0, help="how long each scenario's load lasts")
    parser.add_argument("--stall", type=float, default=70.0, help="seconds a worker stays SIGSTOPped (lease: 60)")
    parser.add_argument("--db-down", type=float, default=10.0, help="seconds PostgreSQL stays stopped")
    parser.add_argument("--drain", type=float, default=150.0, help="most seconds to wait for the outbox to empty")
    parser.add_argument("--only", default="", help="comma-separated: workers, provider, database, server")
    parser.add_argument("--keep", action="store_true", help="keep the logs folder even when everything passed")
    args = parser.parse_args(argv)
    if not 1 <= args.texts <= 9000 or not 0 <= args.webhooks <= 900:
        parser.error("--texts must be 1..9000 and --webhooks 0..900")
    opts = Options(texts=args.texts, webhooks=args.webhooks, clients=args.clients, load_seconds=args.load_seconds,
                   stall=args.stall, db_down=args.db_down, drain=args.drain)
    wanted = [n for n in SCENARIOS if not args.only or any(n.startswith(w.strip()) for w in args.only.split(","))]

    started, rows, broken = time.monotonic(), [], False
    stack = Stack()
    print(f"faults: logs in {stack.dir}", flush=True)
    try:
        stack.start()
        print(f"faults: PostgreSQL {stack.cluster.bin.parts[-2]} on port {stack.cluster.port}; server {stack.url}; "
              f"Idempotency-Key {'honoured' if stack.idempotent else 'not honoured'} on POST /api/v1/tickets",
              flush=True)
        for name in wanted:
            print(f"faults: {name} ...", flush=True)
            row = run_scenario(stack, opts, name)
            rows.append(row)
            print(f"faults: {name}: {'FAILED' if row.failed else 'ok'} in {row.seconds:.0f}s; "
                  + "; ".join(row.notes), flush=True)
    except Exception:  # noqa: BLE001 - report what ran, then fail
        traceback.print_exc()
        broken = True
    finally:
        stack.close()
    print()
    print(table(rows))
    for r in rows:
        for line in r.details:
            print(f"  {r.scenario}: {line}")
    failed = broken or any(r.failed for r in rows) or len(rows) != len(wanted)
    print(f"\nfaults: {'FAILED' if failed else 'passed'} in {time.monotonic() - started:.0f}s"
          + (f" (logs kept in {stack.dir})" if failed or args.keep else ""))
    if not failed and not args.keep:
        shutil.rmtree(stack.dir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
