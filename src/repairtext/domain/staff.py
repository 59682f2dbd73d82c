"""The people of a shop: who may do what, and what a valid email, name and password are."""

from __future__ import annotations

import re
from dataclasses import dataclass

from repairtext.domain.errors import ValidationFailed

OWNER, STAFF = "owner", "staff"
ROLES = (OWNER, STAFF)

# Long enough to resist guessing with the sign-in limit in place (NIST SP 800-63B asks for at least 8); the upper
# bound keeps one sign-in from costing argon2 a megabyte of input.
PASSWORD_MIN, PASSWORD_MAX = 10, 256
_EMAIL = re.compile(r"^[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+$")  # no NUL: PostgreSQL cannot hold one


@dataclass(frozen=True)
class Author:
    """Who wrote a comment, as the conversation will show it (see Comment.author_name)."""

    kind: str  # staff, customer, system
    name: str
    staff_id: int | None = None
    customer_id: int | None = None
    number: str | None = None


SYSTEM = Author("system", "System")


def can_manage_shop(role: str) -> bool:
    """People, API keys, the provider and numbers, buying credits: the owner's business."""
    return role == OWNER


def check_email(email: str | None) -> str:
    email = (email or "").strip().lower()
    if not email:
        raise ValidationFailed.on("email", "enter an email address")
    if len(email) > 254 or not _EMAIL.match(email):
        raise ValidationFailed.on("email", "enter an email address like name@example.com")
    return email


def check_name(name: str | None) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationFailed.on("name", "enter the name colleagues and customers will see")
    if len(name) > 120:
        raise ValidationFailed.on("name", "at most 120 characters")
    if "\x00" in name:
        raise ValidationFailed.on("name", "may not contain a NUL character")
    return name


def check_role(role: str | None) -> str:
    if role not in ROLES:
        raise ValidationFailed.on("role", "choose owner or staff")
    return role


def check_password(password: str | None) -> str:
    password = password or ""
    if len(password) < PASSWORD_MIN:
        raise ValidationFailed.on("password", f"use at least {PASSWORD_MIN} characters")
    if len(password) > PASSWORD_MAX:
        raise ValidationFailed.on("password", f"at most {PASSWORD_MAX} characters")
    return password
