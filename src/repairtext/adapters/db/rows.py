"""Loading rows the caller knows exist, and counting what a statement changed, typed for mypy.

`must_get` is for a row that cannot be missing: a foreign key points at it, the caller's authentication found
it, or this process holds its lock or lease. Its absence is a bug (or a damaged database), never a user's
mistake, so it raises MissingRow (a 500) instead of NotFound (a 404)."""

from __future__ import annotations

from typing import Any, TypeVar, cast

from sqlalchemy import CursorResult, Result
from sqlalchemy.orm import Session

T = TypeVar("T")


class MissingRow(LookupError):
    """A row that had to exist does not."""


def must_get(session: Session, model: type[T], key: Any, *, with_for_update: bool = False) -> T:
    row = session.get(model, key, with_for_update=with_for_update)
    if row is None:
        raise MissingRow(f"{model.__name__} {key!r} does not exist")
    return row


def rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE matched. Session.execute is typed as returning Result, but for those statements
    SQLAlchemy returns a CursorResult, which carries rowcount."""
    return cast(CursorResult[Any], result).rowcount
