"""The processes under test: `repairtext serve`, `repairtext worker` and `repairtext simulator`, each a real
child process we can SIGKILL, SIGSTOP and start again. Their output goes to log files under the run's folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

SRC = Path(__file__).resolve().parents[1] / "src"


class Child:
    """One `repairtext …` command. `start()` again after a kill runs a fresh process with the same arguments."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name, self.args, self.env, self.log_dir = name, args, env, log_dir
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> Child:
        self.starts += 1
        # The worktree's own code, whichever venv runs it.
        env = {**os.environ, **self.env, "PYTHONPATH": str(SRC)}
        with open(self.log_dir / f"{self.name}.log", "ab") as log:
            log.write(f"\n--- start #{self.starts} at {time.strftime('%H:%M:%S')} ---\n".encode())
            log.flush()
            self.proc = subprocess.Popen([sys.executable, "-m", "repairtext.entrypoints.cli", *self.args],
                                         env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def wait_logged(self, needle: str, timeout: float = 120) -> None:
        """Until this start's output contains `needle` (a worker's "started" line: it has its pool and database)."""
        path, deadline = self.log_dir / f"{self.name}.log", time.monotonic() + timeout
        marker = f"--- start #{self.starts} "
        while time.monotonic() < deadline:
            output = path.read_text(errors="replace")
            if needle in output[output.rfind(marker):]:
                return
            if not self.alive():
                raise RuntimeError(f"{self.name} exited before logging {needle!r}; see {path}")
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not log {needle!r} within {timeout:.0f}s")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig: int) -> None:
        if self.alive():
            os.kill(self.pid, sig)

    def kill(self) -> None:
        """SIGKILL, as an OOM killer or a lost machine would: nothing is cleaned up."""
        if self.proc is not None and self.alive():
            os.kill(self.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self, grace: float = 15) -> None:
        """SIGTERM (a stopped process is continued so it can act on it), then SIGKILL after `grace` seconds."""
        if self.proc is None or not self.alive():
            return
        os.kill(self.pid, signal.SIGCONT)
        os.kill(self.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.kill()


def wait_http(url: str, timeout: float = 60, child: Child | None = None) -> None:
    """Until `url` answers 200 (a server starting up, migrating, binding its port)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child is not None and child.proc is not None and not child.alive():
            raise RuntimeError(f"{child.name} exited with {child.proc.returncode}; see {child.log_dir}/{child.name}.log")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer 200 within {timeout:.0f}s")
