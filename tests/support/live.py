"""A real uvicorn server on loopback for the whole session, serving whichever app the current test installs."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn


class SwitchableApp:
    def __init__(self):
        self.current = None

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            message = await receive()
            while message["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
                message = await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return
        if self.current is None:
            await send({"type": "http.response.start", "status": 503, "headers": []})
            await send({"type": "http.response.body", "body": b"no app installed"})
            return
        await self.current(scope, receive, send)


class LiveServer:
    def __init__(self, host: str = "127.0.0.1"):
        self.host = host
        self.switch = SwitchableApp()
        with socket.socket() as s:
            s.bind((host, 0))
            self.port = s.getsockname()[1]
        self.url = f"http://{host}:{self.port}"
        config = uvicorn.Config(self.switch, host=host, port=self.port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("live server did not start")
            time.sleep(0.01)
        return self

    def serve(self, app) -> None:
        self.switch.current = app

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
