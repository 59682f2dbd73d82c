"""Request bodies over 1 MiB answer 413 before anything is parsed or authenticated.

Pure ASGI, in front of everything: the body is read here, counting bytes as they arrive (Content-Length,
chunked or a Content-Length that lies), and only a body within the limit is handed on, replayed to the app.
Nothing we serve takes more (an API body is JSON of a few KB; a webhook a few KB; media come by URL), and
holding 1 MiB per request in memory is cheaper than letting a 30 MB body reach a JSON or form parser.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY = 1024 * 1024


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await _too_large(send, self.max_bytes)
            return
        chunks: list[bytes] = []
        size, disconnected = 0, False
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: let the app see it
                disconnected = True
                break
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await _too_large(send, self.max_bytes)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(None if disconnected else chunks, receive), send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _replay(chunks: list[bytes] | None, receive: Receive) -> Receive:
    """The body already read, as one message, then the client's own messages (a disconnect)."""
    pending: list[Message] = ([{"type": "http.request", "body": b"".join(chunks), "more_body": False}]
                              if chunks is not None else [{"type": "http.disconnect"}])

    async def replayed() -> Message:
        if pending:
            return pending.pop()
        return await receive()

    return replayed


async def _too_large(send: Send, limit: int) -> None:
    body = json.dumps({"type": "about:blank", "status": 413, "title": "Request body too large",
                       "detail": f"the request body is over {limit} bytes"}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
