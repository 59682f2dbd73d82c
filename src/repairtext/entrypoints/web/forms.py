"""Form plumbing: check a posted form against the API's own schemas (one set of limits for API and pages), and
put each error next to the field it is about."""

from __future__ import annotations

import re

import pydantic
from starlette.responses import RedirectResponse

from repairtext.domain.errors import FieldError, ValidationFailed
from repairtext.entrypoints.api.schemas import MAX_ID

_SUBFIELD = re.compile(r"[\[.].*$")


def validated(schema: type[pydantic.BaseModel], data: dict, messages: dict[str, str] | None = None):
    """`schema` checked against `data`; its complaints raised as ValidationFailed, like a service's.
    `messages` replaces pydantic's wording for a field where a person needs plainer words."""
    try:
        return schema.model_validate(data)
    except pydantic.ValidationError as exc:
        errors = []
        for e in exc.errors():
            field = ".".join(str(p) for p in e["loc"]) or "form"
            message = (messages or {}).get(field) or e["msg"].replace("String should", "It should")
            errors.append(FieldError(field, message))
        raise ValidationFailed(errors) from None


def field_errors(exc: ValidationFailed, aliases: dict[str, str] | None = None) -> dict[str, str]:
    """{form field: first message}. `phones.0.number` / `phones[0].number` find their alias, `numbers[2]` its list."""
    aliases = aliases or {}
    out: dict[str, str] = {}
    for e in exc.errors:
        plain = re.sub(r"\.(\d+)", r"[\1]", e.field)
        field = aliases.get(plain) or aliases.get(_SUBFIELD.sub("", plain)) or _SUBFIELD.sub("", plain)
        out.setdefault(field, e.message)
    return out


def whole_number(value: object, most: int) -> int | None:
    """A count or an id typed in a form or a query: ASCII digits only ("²".isdigit() is true, yet int() refuses
    it), and at most `most` (a number beyond the database's integers would be a 500, not a miss)."""
    text = str(value or "")
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(most)):
        return None
    number = int(text)
    return number if number <= most else None


def form_id(value: object) -> int | None:
    """An id a form or a link carries, or None for anything that cannot be one."""
    number = whole_number(value, MAX_ID)
    return number if number else None


def see_other(url: str) -> RedirectResponse:
    """Redirect-after-post: reloading the next page never posts the form again."""
    return RedirectResponse(url, status_code=303)


_LOCAL_PATH = re.compile(r"/(?![/\\])[A-Za-z0-9/_.~%=&?#-]{0,300}")


def safe_next(value: str | None, default: str) -> str:
    """Where to go after a form: only a path on this site ("/tickets/12"), never "//evil.example" or
    "https://…", so a crafted link cannot send staff elsewhere after they save."""
    value = (value or "").strip()
    return value if _LOCAL_PATH.fullmatch(value) else default
