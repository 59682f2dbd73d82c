"""Errors a person can act on. Each says what is wrong and, where it helps, what to do."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


class DomainError(Exception):
    """Base of every rule broken by a request; the web layer maps each kind to an HTTP status."""


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class ValidationFailed(DomainError):
    def __init__(self, errors: list[FieldError] | FieldError):
        self.errors = errors if isinstance(errors, list) else [errors]
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in self.errors))

    @classmethod
    def on(cls, field: str, message: str) -> ValidationFailed:
        return cls(FieldError(field, message))


class NotFound(DomainError):
    """Also what another shop's id gets: existence elsewhere is not revealed (404, never 403)."""


class Conflict(DomainError):
    pass


class InsufficientCredits(DomainError):
    def __init__(self, needed: int, available: int):
        self.needed, self.available = needed, available
        super().__init__(
            f"needs {needed} credit{'s' if needed != 1 else ''} but only {available} remain"
            " (buy an add-on pack under Credits, or switch to your own Flowroute account)"
        )


class AddonsNotYetAvailable(Conflict):
    def __init__(self, available_from: date):
        self.available_from = available_from
        super().__init__(f"add-on packs can be bought from {available_from.isoformat()} (30 days after your subscription started)")
