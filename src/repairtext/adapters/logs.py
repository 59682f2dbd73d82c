"""Logging an operator can use: plain lines by default, one JSON object a line with REPAIRTEXT_LOG_FORMAT=json.

Every line carries the request it belongs to (`request_id`: the caller's X-Request-ID, or one we made) and the
text it concerns (`message_id`) where there is one; both travel in context variables, so a log call anywhere
below the request or the send picks them up without being handed them.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
message_id: contextvars.ContextVar[int | None] = contextvars.ContextVar("message_id", default=None)

# A caller's X-Request-ID is kept only if it is short and plain: it goes into every log line.
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def request_id_from(header: str | None) -> str:
    return header if header and _SAFE_REQUEST_ID.match(header) else uuid.uuid4().hex


@contextmanager
def about_message(id_: int | None) -> Iterator[None]:
    token = message_id.set(id_)
    try:
        yield
    finally:
        message_id.reset(token)


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request = getattr(record, "request_id", None) or request_id.get()
        record.message_id = message = getattr(record, "message_id", None) or message_id.get()
        ids = [f"request {request}" if request else "", f"message {message}" if message else ""]
        record.context = f" [{', '.join(i for i in ids if i)}]" if any(ids) else ""
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in ("request_id", "message_id"):
            if getattr(record, name, None) is not None:
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s%(context)s"


def configure(log_format: str = "text", level: int = logging.INFO) -> None:
    """Route our loggers and uvicorn's through one handler in the chosen format."""
    handler = logging.StreamHandler()
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per provider call drowns the useful ones
