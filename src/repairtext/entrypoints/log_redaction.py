"""No secret in any log line: URL tokens and API key secrets are masked in every log record, ours and uvicorn's.

Flowroute webhook URLs carry the shop's secret token and portal URLs are the portal's password, and uvicorn's
access log writes every path. Masking happens where records are made (a log record factory), so it holds for
every logger and every handler, including the handlers uvicorn installs after the app is built.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

MASK = "[redacted]"
_SECRETS = re.compile(
    r"(?P<keep>/webhooks/flowroute/|/portal/)[^/\s?#\"']+"  # the token segment of those URLs
    r"|(?P<key>\brt_[0-9a-f]{12})_[A-Za-z0-9_-]+"  # an API key: keep its public prefix, drop the secret
)
_PLAIN = (str, int, float, bool, type(None))


def _mask(match: re.Match) -> str:
    return f"{match.group('keep')}{MASK}" if match.group("keep") else f"{match.group('key')}_{MASK}"


def redact(text: str) -> str:
    return _SECRETS.sub(_mask, text)


def _redact_arg(value):
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, _PLAIN):
        return value
    text = str(value)  # a URL object or an exception may carry a token in its text
    masked = redact(text)
    return value if masked == text else masked


def _redact_record(record: logging.LogRecord) -> None:
    if isinstance(record.msg, str):
        record.msg = redact(record.msg)
    if isinstance(record.args, tuple):
        record.args = tuple(_redact_arg(a) for a in record.args)  # same length: uvicorn unpacks its args
    elif isinstance(record.args, Mapping):
        record.args = {k: _redact_arg(v) for k, v in record.args.items()}


def install() -> None:
    """Mask secrets in every log record from now on (idempotent)."""
    current = logging.getLogRecordFactory()
    if getattr(current, "redacts_secrets", False):
        return

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = current(*args, **kwargs)
        _redact_record(record)
        return record

    factory.redacts_secrets = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
