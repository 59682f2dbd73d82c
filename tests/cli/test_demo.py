"""`repairtext demo --port N` as a person runs it, in a real process in an empty directory: it says it is running
only once its port answers, and a taken port is a clear error naming PORT=."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _demo(port: int, cwd, *, logs_with_output: bool = False) -> subprocess.Popen:
    # The demo's own defaults only: none of the test run's REPAIRTEXT_* settings.
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPAIRTEXT_")}
    # A long run's logs go with its output, read as they come, so a full pipe never stalls the demo.
    stderr = subprocess.STDOUT if logs_with_output else subprocess.PIPE
    return subprocess.Popen([sys.executable, "-u", "-m", "repairtext.entrypoints.cli", "demo", "--port", str(port)],
                            cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True)


def _lines(stream) -> queue.Queue:
    lines: queue.Queue = queue.Queue()

    def pump() -> None:
        for line in stream:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)  # Ctrl-C, as the banner says
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_the_demo_says_it_is_running_only_once_its_port_answers(tmp_path):
    port = _free_port()
    process = _demo(port, tmp_path, logs_with_output=True)
    try:
        out, seen = _lines(process.stdout), []
        deadline = time.monotonic() + 120
        while True:
            line = out.get(timeout=max(deadline - time.monotonic(), 0.1))
            assert line is not None, f"the demo ended before saying it runs: {''.join(seen)}"
            seen.append(line)
            if "is running" in line:
                # Right after the line is read, before anything else: the port must already take connections.
                with socket.create_connection(("127.0.0.1", port), timeout=2):
                    pass
                break
        while not any("API key:" in s for s in seen):  # the URL and the owner's sign-in follow in the same banner
            line = out.get(timeout=10)
            assert line is not None, "".join(seen)
            seen.append(line)
        banner = "".join(seen)
        url = re.search(r"Staff pages:\s+(\S+)", banner).group(1)
        email, password = re.search(r"email (\S+), password (\S+)", banner).groups()
        assert url == f"http://127.0.0.1:{port}/sign-in"
        with httpx.Client(timeout=10) as browser:  # the printed owner signs in
            nonce = re.search(r'name="signin_nonce" value="([^"]+)"', browser.get(url).text).group(1)
            signed = browser.post(url, data={"email": email, "password": password, "signin_nonce": nonce})
            assert signed.status_code == 303 and signed.headers["location"] == "/tickets"
        assert (tmp_path / "var" / "repairtext.db").exists()  # its data under the working directory
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) in (0, 130, -signal.SIGINT)  # Ctrl-C stops it, in time
    finally:
        _stop(process)


def test_a_taken_port_is_a_clear_error_naming_port(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        process = _demo(port, tmp_path)
        try:
            stdout, stderr = process.communicate(timeout=60)
        finally:
            _stop(process)
    assert process.returncode == 2, (stdout, stderr)
    assert f"port {port} on 127.0.0.1 is not free" in stderr and f"make demo PORT={port + 1}" in stderr
    assert "is running" not in stdout
    assert not (tmp_path / "var").exists()  # refused before anything was made
    assert time.monotonic() - started < 30
