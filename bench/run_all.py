"""Run every benchmark in bench/ and print a summary of their verdicts. Figures are printed, never asserted.

Each script runs in a process of its own, one after the other (they would compete for the two cores), with a
time limit; scripts that take `--db` get it (default both databases in one run), the others run as they are.
The whole output of each is also written to bench/results/<time>-<script>.txt (kept out of git), and
bench/results.md gets the machine (CPUs, CPU model, memory, load average), the commit, the date, each script's
machine-readable figures (the `BENCH-RESULT {json}` line it prints, see _support.emit) and its whole output.

    .venv/bin/python bench/run_all.py [--db sqlite|postgresql|both] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
RESULTS_MD = BENCH / "results.md"
RESULT_PREFIX = "BENCH-RESULT "  # as _support.emit prints it (not imported: run_all needs no database)
TIME_LIMIT = 600  # seconds per script; each is meant to finish in about two minutes
VERDICT_WORDS = ("PASS", "MISS")


def source_state() -> str:
    """The commit measured, and whether the working tree differed from it (read-only git)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=BENCH.parent, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", "src", "bench",
                                ":(exclude)bench/results.md"],
                               cwd=BENCH.parent, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "source: unknown (no git)"
    return f"source: {head}{' + uncommitted changes in src/ or bench/' if dirty else ''}"


def machine() -> dict[str, str]:
    """What the figures were measured on (Linux /proc; 'unknown' elsewhere)."""
    def first(path: str, key: str) -> str:
        try:
            for line in Path(path).read_text().splitlines():
                if line.startswith(key):
                    return line.split(":", 1)[1].strip()
        except OSError:
            pass
        return "unknown"

    memory = first("/proc/meminfo", "MemTotal")
    if memory.endswith(" kB"):
        memory = f"{int(memory[:-3]) / 1024 / 1024:.1f} GiB"
    return {"CPUs (nproc)": str(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()),
            "CPU model": first("/proc/cpuinfo", "model name"), "memory": memory,
            "Python": platform.python_version(), "platform": platform.platform()}


def load_average() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def figures_of(output: str) -> list[dict]:
    """The machine-readable lines a script printed (see _support.emit)."""
    found = []
    for line in output.splitlines():
        if line.startswith(RESULT_PREFIX):
            try:
                found.append(json.loads(line[len(RESULT_PREFIX):]))
            except ValueError:
                continue
    return found


def flatten(value, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [row for key, item in value.items() for row in flatten(item, f"{prefix}.{key}" if prefix else str(key))]
    if isinstance(value, float):
        return [(prefix, f"{value:,.3f}".rstrip("0").rstrip("."))]
    return [(prefix, f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value))]


def write_results(stamp: str, started: datetime, source: str, load_before: str, outcomes: list) -> None:
    """bench/results.md: the run's machine, commit, date and every figure, for the README and for review."""
    lines = [f"# Benchmark results ({stamp})", "",
             "Written by `make bench` (bench/run_all.py); do not edit by hand.", "",
             f"- date: {started.astimezone(UTC):%Y-%m-%d %H:%M} UTC; {source} (at the start)",
             *(f"- {name}: {value}" for name, value in machine().items()),
             f"- load average (1, 5, 15 min) at the start: {load_before}; at the end: {load_average()}",
             "  (per-second figures move with other load on the machine; the CPU-per-operation ones much less)", ""]
    for script, code, elapsed, output in outcomes:
        lines += [f"## {script.name} ({elapsed:.0f} s, {'ok' if code == 0 else f'exit {code}'})", ""]
        lines += [f"- {line}" for line in verdicts(output) if any(f"{word} " in line for word in VERDICT_WORDS)]
        for result in figures_of(output):
            lines += ["", "| figure | value |", "|---|---|"]
            lines += [f"| {name} | {value} |" for name, value in flatten(result.get("figures", {}))]
        printed = [line for line in output.splitlines() if not line.startswith(RESULT_PREFIX)]
        lines += ["", "<details><summary>everything it printed</summary>", "", "```", *printed, "```", "</details>", ""]
    RESULTS_MD.write_text("\n".join(lines) + "\n", encoding="utf-8")


def scripts() -> list[Path]:
    return sorted(p for p in BENCH.glob("*.py") if p.name != Path(__file__).name and not p.name.startswith("_"))


def takes_db(script: Path) -> bool:
    return '"--db"' in script.read_text(encoding="utf-8")


def verdicts(output: str) -> list[str]:
    """The lines a script's summary gives: its PASS/MISS verdicts after a 'summary' line if it has one, else
    every verdict line; a script with no verdicts: its whole output if short, else its last lines."""
    lines = [line.rstrip() for line in output.splitlines() if line.strip()]
    if "summary" in lines:
        lines = lines[lines.index("summary") + 1:]
    found = [line.strip() for line in lines if any(f"{word} " in line for word in VERDICT_WORDS)]
    return found or (lines if len(lines) <= 12 else lines[-5:])


def run(script: Path, db: str, stamp: str) -> tuple[int | None, float, str]:
    command = [sys.executable, str(script)] + (["--db", db] if takes_db(script) else [])
    print(f"\n##### {script.name}: {' '.join(Path(c).name if i < 2 else c for i, c in enumerate(command))}",
          flush=True)
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=BENCH.parent)
    watchdog = threading.Timer(TIME_LIMIT, proc.kill)  # bounded in time, even if a script hangs silently
    watchdog.start()
    captured = []
    for line in proc.stdout:  # echo as it comes: a two-minute script should not look hung
        print(line, end="", flush=True)
        captured.append(line)
    code = proc.wait()
    if not watchdog.is_alive() and code != 0:
        captured.append(f"\n(stopped after {TIME_LIMIT}s)\n")
    watchdog.cancel()
    elapsed = time.perf_counter() - started
    output = "".join(captured)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{stamp}-{script.stem}.txt").write_text(output, encoding="utf-8")
    return code, elapsed, output


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--only", nargs="*", default=None, help="script names to run (default: all)")
    args = parser.parse_args()
    chosen = [s for s in scripts() if not args.only or s.stem in args.only or s.name in args.only]
    started = datetime.now(UTC)
    stamp = started.strftime("%Y%m%d-%H%M%S")
    load = load_average()
    source = source_state()
    print(f"run_all {stamp}: Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs, "
          f"load average {load}; {source}; scripts: {', '.join(s.name for s in chosen)}")
    outcomes = [(script, *run(script, args.db, stamp)) for script in chosen]
    write_results(stamp, started, source, load, outcomes)
    print(f"\n===== summary ({stamp}; full outputs in {RESULTS.relative_to(BENCH.parent)}/) =====")
    failed = 0
    for script, code, elapsed, output in outcomes:
        status = "ok" if code == 0 else f"exit {code}"
        failed += code != 0
        print(f"{script.name} ({elapsed:.0f}s, {status})")
        for line in verdicts(output):
            if not line.startswith(RESULT_PREFIX):
                print(f"    {line}")
    print(f"figures written to {RESULTS_MD.relative_to(BENCH.parent)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
