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


def test_staff_create_reads_the_password_from_stdin_and_invite_prints_a_one_time_link(tmp_path):
    env = {"REPAIRTEXT_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "REPAIRTEXT_BLOB_DIR": str(tmp_path / "b"),
           "REPAIRTEXT_PUBLIC_URL": "https://desk.example"}
    assert run("migrate", env=env).returncode == 0
    shop = json.loads(run("shop", "create", "--name", "Acme", "--plan", "starter", "--number", "+1 206 555 0100",
                          env=env).stdout)
    made = run("staff", "create", "--shop-id", str(shop["id"]), "--email", "Ana@Acme.example", "--name", "Ana Ruiz",
               "--role", "owner", stdin="a long enough password\n", env=env)
    assert made.returncode == 0, made.stderr
    account = json.loads(made.stdout)
    assert account == {"id": account["id"], "email": "ana@acme.example", "name": "Ana Ruiz", "role": "owner"}
    assert "a long enough password" not in made.stdout + made.stderr

    short = run("staff", "create", "--shop-id", str(shop["id"]), "--email", "b@acme.example", "--name", "B",
                stdin="short\n", env=env)
    assert short.returncode == 2 and "password" in short.stderr and "at least 10" in short.stderr
    taken = run("staff", "create", "--shop-id", str(shop["id"]), "--email", "ana@acme.example", "--name", "Ana 2",
                stdin="a long enough password\n", env=env)
    assert taken.returncode == 2 and "already has an account" in taken.stderr
    nowhere = run("staff", "create", "--shop-id", "999", "--email", "c@acme.example", "--name", "C",
                  stdin="a long enough password\n", env=env)
    assert nowhere.returncode == 2 and "no shop 999" in nowhere.stderr

    invite = json.loads(run("staff", "invite", "--shop-id", str(shop["id"]), "--email", "tech@acme.example",
                            env=env).stdout)
    assert invite["role"] == "staff" and invite["link"].startswith("https://desk.example/invite/")
    assert len(invite["link"].rsplit("/", 1)[1]) >= 40
