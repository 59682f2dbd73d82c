"""A PostgreSQL cluster of the suite's own: initdb into a temporary folder, its own port, so it can be stopped
and started mid-load without touching anyone else's database.

PostgreSQL refuses to run as root; when we are root the cluster's files belong to `postgres` (or `nobody`) and
every server command runs through `runuser`.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _bin_dir() -> Path:
    """The newest PostgreSQL on the machine (Debian keeps each major version under /usr/lib/postgresql/N/bin)."""
    if os.environ.get("FAULTS_PG_BIN"):
        return Path(os.environ["FAULTS_PG_BIN"])
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise SystemExit("no PostgreSQL binaries found (looked in /usr/lib/postgresql/*/bin and PATH; set FAULTS_PG_BIN)")


def _run_as() -> tuple[list[str], str | None]:
    """The command prefix that drops root, and the user it drops to (None when we are not root)."""
    if os.geteuid() != 0:
        return [], None
    for user in ("postgres", "nobody"):
        try:
            pwd.getpwnam(user)
        except KeyError:
            continue
        return ["runuser", "-u", user, "--"], user
    raise SystemExit("running as root and neither a 'postgres' nor a 'nobody' user exists to run PostgreSQL")


class Cluster:
    def __init__(self) -> None:
        self.bin = _bin_dir()
        self.prefix, self.user = _run_as()
        self.root = Path(tempfile.mkdtemp(prefix="repairtext-faults-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.port = free_port()
        if self.user:
            record = pwd.getpwnam(self.user)
            os.chown(self.root, record.pw_uid, record.pw_gid)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _pg(self, tool: str, *args: str, timeout: float = 60) -> None:
        result = subprocess.run([*self.prefix, str(self.bin / tool), *args], capture_output=True, text=True,
                                timeout=timeout, cwd=self.root, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{tool} {' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}\n"
                               f"{self._log_tail()}")

    def _log_tail(self) -> str:
        try:
            return "postgres.log: " + self.log.read_text()[-2000:]
        except OSError:
            return ""

    def create(self) -> Cluster:
        self._pg("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale",
                 timeout=120)
        # Durable enough for a test run (a fast stop still writes everything out); fsync off spares a busy disk.
        settings = {"listen_addresses": "'127.0.0.1'", "port": str(self.port),
                    "unix_socket_directories": f"'{self.root}'", "fsync": "off", "full_page_writes": "off",
                    "max_connections": "200", "shared_buffers": "64MB"}
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.writelines(f"{k} = {v}\n" for k, v in settings.items())
        return self

    def start(self) -> None:
        self._pg("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start", timeout=90)

    def stop(self, mode: str = "fast") -> None:
        self._pg("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop", timeout=90)

    def is_running(self) -> bool:
        result = subprocess.run([*self.prefix, str(self.bin / "pg_ctl"), "-D", str(self.data), "status"],
                                capture_output=True, timeout=30, check=False)
        return result.returncode == 0

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = subprocess.run([str(self.bin / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
                                    capture_output=True, timeout=10, check=False)
            if result.returncode == 0:
                return
            time.sleep(0.2)
        raise RuntimeError(f"PostgreSQL on port {self.port} not ready after {timeout:.0f}s\n{self._log_tail()}")

    def destroy(self) -> None:
        try:
            if self.data.exists() and self.is_running():
                self.stop("immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
