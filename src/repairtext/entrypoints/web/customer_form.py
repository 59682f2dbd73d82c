"""The customer form (new and edit): name, email, SMS, and a row per phone (number, type, remove), turned into
the API's own shapes (CustomerCreate / CustomerUpdate), so a page and PATCH /api/v1/customers/{id} are checked
and saved by the same code. Each error lands on the row it is about."""

from __future__ import annotations

import phonenumbers

from repairtext.adapters.db.models import Customer
from repairtext.domain.errors import ValidationFailed
from repairtext.domain.phones import display, region_of
from repairtext.entrypoints.api.schemas import CustomerCreate, CustomerUpdate
from repairtext.entrypoints.web.auth import Posted
from repairtext.entrypoints.web.forms import field_errors, validated
from repairtext.services import customers

MAX_PHONES = 10  # as the API allows
MAX_ROWS = 2 * MAX_PHONES  # every phone marked for removal, and as many new ones
PHONE_TYPES = ("mobile", "home", "work", "other")
MESSAGES = {"name": "Enter the customer's name (at most 200 characters)",
            "email": "Enter an email address like jane@example.com, or leave it empty",
            "phones": f"A customer has at most {MAX_PHONES} phones"}


def editable_number(e164: str, country: str) -> str:
    """A stored number as staff would type it: national for the shop's own country, else international."""
    if region_of(e164) == country:
        return display(e164)
    try:
        return phonenumbers.format_number(phonenumbers.parse(e164, None), phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        return e164


def values_of(customer: Customer, country: str) -> dict:
    """The form filled in from a saved customer."""
    return {"name": customer.name, "email": customer.email or "", "sms_enabled": customer.sms_enabled,
            "rows": [{"number": editable_number(p.e164, country), "type": p.type, "remove": False}
                     for p in customer.phones]}


def values_posted(posted: Posted) -> dict:
    """The form as it was posted (to show it again, with its errors). Rows beyond the limit are not read."""
    rows = []
    for i in range(MAX_ROWS):
        if f"phone_{i}" not in posted.form:
            break
        rows.append({"number": posted.get(f"phone_{i}").strip()[:40], "type": posted.get(f"phone_type_{i}")[:20],
                     "remove": posted.checked(f"remove_phone_{i}")})
    return {"name": posted.get("name").strip(), "email": posted.get("email").strip(),
            "sms_enabled": posted.checked("sms_enabled"), "rows": rows}


def with_blank_rows(values: dict, blanks: int = 1) -> dict:
    """The rows to show: those with a number (or marked for removal), then `blanks` empty ones to add a phone
    in, as many as the limit leaves room for."""
    rows = [r for r in values["rows"] if r["number"] or r["remove"]]
    room = MAX_PHONES - sum(1 for r in rows if not r["remove"])
    return dict(values, rows=rows + [{"number": "", "type": "mobile", "remove": False}] * max(0, min(blanks, room)))


def _phones(values: dict) -> tuple[list[dict], dict[str, str]]:
    """The phones to save (kept rows with a number) and, for each, where its errors show on the page."""
    phones: list[dict] = []
    aliases: dict[str, str] = {}
    for row_index, row in enumerate(values["rows"]):
        if row["remove"] or not row["number"]:
            continue
        i = len(phones)
        aliases[f"phones[{i}].number"], aliases[f"phones[{i}].type"] = f"phone_{row_index}", f"phone_type_{row_index}"
        phones.append({"number": row["number"], "type": row["type"]})
    return phones, aliases


def _checked(schema, values: dict, country: str):
    """The form as the API would take it; every complaint at once (the API's schema, then each phone as the
    service reads it), each on its row."""
    phones, aliases = _phones(values)
    errors = []
    try:
        body = validated(schema, {"name": values["name"], "email": values["email"] or None,
                                  "sms_enabled": values["sms_enabled"], "phones": phones}, messages=MESSAGES)
    except ValidationFailed as exc:
        errors += exc.errors
    try:
        customers.parse_phones(phones, country)
    except ValidationFailed as exc:
        errors += exc.errors
    if errors:
        raise FormInvalid(field_errors(ValidationFailed(errors), aliases))
    return body


class FormInvalid(Exception):
    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


def errors_of(exc: ValidationFailed, values: dict) -> dict[str, str]:
    """A service's complaints (phones[0].number, …) on the rows they are about."""
    return field_errors(exc, _phones(values)[1])


def creation(values: dict, country: str) -> CustomerCreate:
    return _checked(CustomerCreate, values, country)


def changes(values: dict, country: str) -> dict:
    """What PATCH /api/v1/customers/{id} would be sent: every field, phones as they now are."""
    return _checked(CustomerUpdate, values, country).model_dump(exclude_unset=True)
