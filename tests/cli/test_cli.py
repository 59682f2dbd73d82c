"""The `repairtext` command as a person runs it: a real process, real stdin and stdout."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def run(*args, stdin: str = "", env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "repairtext.entrypoints.cli", *args], input=stdin, text=True,
                          capture_output=True, env={**os.environ, **(env or {})}, timeout=60)


def test_segments_counts_stdin_exactly_as_given():
    out = run("segments", stdin="a" * 161)
    assert json.loads(out.stdout) == {"encoding": "GSM-7", "segments": 2, "units": 161}
    lines = run("segments", "--jsonl", stdin='"{hi}"\n"€"\n"😀 ok"\n').stdout.splitlines()
    assert [json.loads(line) for line in lines] == [
        {"encoding": "GSM-7", "segments": 1, "units": 6},
        {"encoding": "GSM-7", "segments": 1, "units": 2},
        {"encoding": "UCS-2", "segments": 1, "units": 5},
    ]
    assert json.loads(run("segments", "--smart", stdin="“quoted”").stdout)["encoding"] == "GSM-7"
    assert json.loads(run("segments", stdin="“quoted”").stdout)["encoding"] == "UCS-2"
    bad = run("segments", "--jsonl", stdin="not json\n")
    assert bad.returncode == 2 and "line 1: not JSON" in bad.stderr


def test_shop_create_then_rollover_then_check(tmp_path):
    env = {"REPAIRTEXT_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "REPAIRTEXT_BLOB_DIR": str(tmp_path / "b")}
    assert run("migrate", env=env).returncode == 0
    created = run("shop", "create", "--name", "Acme", "--plan", "starter", "--number", "+1 206 555 0100",
                  "--time-zone", "America/Chicago", "--started", "2026-10-01", env=env)
    assert created.returncode == 0, created.stderr
    shop = json.loads(created.stdout)
    assert shop["api_key"].startswith("rt_") and shop["numbers"] == ["+12065550100"] and shop["flowroute_token"]
    first = run("credits", "rollover", "--at", "2027-01-01T06:00:00+00:00", env=env)
    again = run("credits", "rollover", "--at", "2027-01-01T06:00:00+00:00", env=env)
    assert json.loads(first.stdout) == {"rolled_shops": [shop["id"]]} and json.loads(again.stdout) == {"rolled_shops": []}
    assert run("credits", "check", env=env).stdout.strip() == "ledger and balances agree"
    bad = run("shop", "create", "--name", "X", "--plan", "gold", "--number", "+12065550101", env=env)
    assert bad.returncode == 2 and "unknown plan 'gold'" in bad.stderr
    naive = run("credits", "rollover", "--at", "2027-01-01T06:00:00", env=env)
    assert naive.returncode == 2 and "UTC offset" in naive.stderr
