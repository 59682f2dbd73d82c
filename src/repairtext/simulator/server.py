"""Running the simulator: in a background thread for tests and the demo, or in the foreground for the CLI."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn

from repairtext.simulator.app import create_app
from repairtext.simulator.config import SimulatorConfig
from repairtext.simulator.state import SimulatorState


class SimulatorServer:
    """uvicorn serving the simulator on a thread of its own; `port=0` picks a free port (see `.url`)."""

    def __init__(self, config: SimulatorConfig | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.config = config or SimulatorConfig()
        self.state = SimulatorState()
        self.app = create_app(self.config, self.state)
        self.host, self.port = host, port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self, timeout: float = 10.0) -> SimulatorServer:
        """Bind, serve in a daemon thread, and return once uvicorn accepts connections."""
        if self._thread is not None:
            raise RuntimeError("the simulator is already running")
        # Binding here, not in uvicorn, makes the ephemeral port known before the first request.
        # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and without it every
        # response (head and body written apart) waits ~40 ms for a delayed ACK.
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_STREAM,
                             socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app, log_level="warning", access_log=False, lifespan="on", timeout_graceful_shutdown=2
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="repairtext-simulator", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the simulator did not start on {self.url}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server, self._thread = None, None

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def serve(port: int, host: str = "127.0.0.1", config: SimulatorConfig | None = None) -> None:
    """Serve in the foreground until interrupted (`repairtext simulator`)."""
    uvicorn.run(create_app(config or SimulatorConfig()), host=host, port=port, log_level="info")
