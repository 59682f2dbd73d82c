"""Shop-editable SMS templates, rendered with Liquid in a sandbox.

A shop's template runs inside the shared service, so its cost must be bounded by its own size. The sandbox
keeps only the tags a text message needs (output, if/unless/case, comments, raw): no loops, no assign or
capture (with them, a loop that doubles a string is exponential), no include/render (no loader either: no
file access), and no range literals (`(1..100000000) | join` builds gigabytes without any loop). With those
gone, each filter runs at most once a render; what one filter can still do (multiply its input: eight nested
`replace` filters make a billion characters of ten) is bounded by template_bounds, while rendering and, from the
template alone, when it is saved. Undefined variables are errors. A template is checked when it is saved (syntax,
unknown variables, filters, ranges, cost), so a broken template never reaches a customer; one saved before a check
existed has its text refused with the reason (services/tickets.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from liquid import Environment, RenderContext, StrictUndefined
from liquid.builtin.expressions.primitive import RangeLiteral
from liquid.exceptions import LiquidError
from sqlalchemy import select
from sqlalchemy.orm import Session

from repairtext.adapters.db.models import Shop, SmsTemplate, Ticket
from repairtext.domain import tickets as ticket_rules
from repairtext.domain.errors import ValidationFailed
from repairtext.domain.phones import display
from repairtext.services import template_bounds as bounds

INITIAL_PROBLEM = "initial_problem"
STATUS_PREFIX = "status:"
MAX_TEMPLATE_CHARS = 1600

DEFAULT_TEMPLATES = {
    # Worded to fit one segment (160 GSM-7 characters) for a typical name, shop and subject with the short link.
    INITIAL_PROBLEM: (
        "Hi {{ customer.first_name }}, {{ shop.name }} has repair #{{ ticket.number }} ({{ ticket.subject }}). "
        "Status: {{ ticket.portal_url }} Reply to reach us"
    ),
    STATUS_PREFIX + "Ready for Pickup": (
        "Good news {{ customer.first_name }}! Ticket #{{ ticket.number }} ({{ ticket.subject }}) is ready "
        "for pickup at {{ shop.name }}."
    ),
    STATUS_PREFIX + "Resolved": (
        "Thanks {{ customer.first_name }}, ticket #{{ ticket.number }} is resolved. "
        "Questions? Reply here or call {{ shop.phone }}."
    ),
}

# What a template may refer to; anything else is refused when the template is saved.
VARIABLES = {
    "customer": {"first_name", "name"},
    "ticket": {"number", "subject", "status", "portal_url", "problem"},
    "shop": {"name", "phone"},
}


class SandboxedEnvironment(Environment):
    template_class = bounds.BoundedTemplate
    loop_iteration_limit = 1_000
    output_stream_limit = bounds.OUTPUT_STREAM_BYTES
    context_depth_limit = 10
    local_namespace_limit = 2_000

    ALLOWED_TAGS = frozenset({"content", "output", "illegal", "if", "unless", "case", "comment", "#", "doc",
                              "echo", "raw"})

    def setup_tags_and_filters(self, *args, **kwargs) -> None:
        super().setup_tags_and_filters(*args, **kwargs)
        for tag in set(self.tags) - self.ALLOWED_TAGS:
            del self.tags[tag]
        self.filters["uniq"] = bounds.uniq
        unruled = set(self.filters) - set(bounds.RULES)
        if unruled:
            raise RuntimeError(f"filters without a cost rule in template_bounds.RULES: {sorted(unruled)}")
        self.filters = {name: bounds.bounded_filter(name, f) for name, f in self.filters.items()}


sandbox = SandboxedEnvironment(undefined=StrictUndefined)


@dataclass(frozen=True)
class TemplateView:
    trigger: str
    body: str | None
    is_default: bool


def _line_of(source: str, index: int | None) -> int:
    return source[: index or 0].count("\n") + 1


def check_template(source: str, field: str = "body"):
    """Parse and check a template; raise ValidationFailed naming the line and the problem."""
    if len(source) > MAX_TEMPLATE_CHARS:
        raise ValidationFailed.on(field, f"a template may be at most {MAX_TEMPLATE_CHARS} characters")
    try:
        template = sandbox.from_string(source)
    except LiquidError as exc:
        token = getattr(exc, "token", None)
        line = _line_of(source, getattr(token, "start_index", 0))
        raise ValidationFailed.on(field, f"line {line}: {exc.message}") from None
    for name, uses in template.analyze().globals.items():
        for use in uses:
            line = _line_of(source, use.span.index)
            path = ".".join(str(s) for s in use.segments)
            if name not in VARIABLES:
                raise ValidationFailed.on(field, f"line {line}: unknown variable '{path}' (use customer.*, ticket.* or shop.*)")
            if len(use.segments) < 2 or use.segments[1] not in VARIABLES[name]:
                known = ", ".join(f"{name}.{v}" for v in sorted(VARIABLES[name]))
                raise ValidationFailed.on(field, f"line {line}: unknown variable '{path}' (known: {known})")
    unknown_filters = [f for f in template.filter_names() if f not in sandbox.filters]
    if unknown_filters:
        raise ValidationFailed.on(field, f"unknown filter '{unknown_filters[0]}'")
    nodes = list(_nodes(template))
    expressions = [e for node in nodes for e in _walk(node.expressions())]
    for expression in expressions:
        if isinstance(expression, RangeLiteral):
            line = _line_of(source, expression.token.start_index)
            raise ValidationFailed.on(field, f"line {line}: ranges like {expression} are not allowed in a text")
    problem = bounds.cost_problem(nodes, expressions)
    if problem is not None:
        where = f"line {_line_of(source, problem.index)}: " if problem.index is not None else ""
        raise ValidationFailed.on(field, where + problem.message)
    return template


def _nodes(template):
    """Every node in the template, however deeply nested in tags."""
    context = RenderContext(template)

    def nodes(level):
        for node in level:
            yield node
            yield from nodes(node.children(context, include_partials=False))

    return nodes(template.nodes)


def _walk(expressions):
    """These expressions and every one nested in them (filters' arguments, conditions' terms)."""
    for expression in expressions:
        yield expression
        yield from _walk(expression.children())


def check_trigger(session: Session, shop_id: int, trigger: str) -> str:
    from repairtext.services.shops import status_names

    if trigger == INITIAL_PROBLEM:
        return trigger
    if trigger.startswith(STATUS_PREFIX) and trigger[len(STATUS_PREFIX):] in status_names(session, shop_id):
        return trigger
    raise ValidationFailed.on("trigger", f"unknown trigger {trigger!r}; use initial_problem or status:<a status name>")


def template_variables(shop: Shop, ticket: Ticket, public_url: str) -> dict:
    name = ticket.customer.name
    return {
        "customer": {"first_name": name.split()[0] if name.split() else name, "name": name},
        "ticket": {
            "number": ticket.number, "subject": ticket.subject, "status": ticket.status,
            "problem": ticket.problem, "portal_url": ticket_rules.portal_link(public_url, ticket.portal_token),
        },
        "shop": {"name": shop.name, "phone": display(shop.numbers[0].e164) if shop.numbers else ""},
    }


# "A typical ticket", for pricing a template as it is typed: a usual name, number and subject, with the shop's own
# name, phone and a portal link of the real length, so the count is what most customers' texts will cost.
TYPICAL_CUSTOMER = "Jennifer Smith"
TYPICAL_SUBJECT = "iPhone 14 cracked screen"
TYPICAL_NUMBER = 1234
TYPICAL_PORTAL_TOKEN = "AbCdEfGhIjKl"


def typical_variables(shop: Shop, trigger: str, public_url: str) -> dict:
    status = trigger[len(STATUS_PREFIX):] if trigger.startswith(STATUS_PREFIX) else ticket_rules.NEW
    return {
        "customer": {"first_name": TYPICAL_CUSTOMER.split()[0], "name": TYPICAL_CUSTOMER},
        "ticket": {"number": TYPICAL_NUMBER, "subject": TYPICAL_SUBJECT, "status": status,
                   "problem": "Dropped it; the screen is cracked",
                   "portal_url": ticket_rules.portal_link(public_url, TYPICAL_PORTAL_TOKEN)},
        "shop": {"name": shop.name, "phone": display(shop.numbers[0].e164) if shop.numbers else ""},
    }


def render(source: str, variables: dict) -> str:
    """The text `source` makes for these variables, within the bounds; ValidationFailed says why not."""
    template = check_template(source)
    try:
        return template.render(**variables)
    except bounds.TemplateTooCostly as exc:
        where = f"line {_line_of(source, exc.token.start_index)}: " if exc.token else ""
        raise ValidationFailed.on("body", where + str(exc.message)) from None
    except LiquidError as exc:
        raise ValidationFailed.on("body", f"cannot render: {exc.message}") from None


def seed_defaults(session: Session, shop: Shop, now) -> None:
    for trigger, body in DEFAULT_TEMPLATES.items():
        session.add(SmsTemplate(shop_id=shop.id, trigger=trigger, body=body, updated_at=now))


def template_for(session: Session, shop_id: int, trigger: str) -> str | None:
    body = session.scalar(select(SmsTemplate.body).where(SmsTemplate.shop_id == shop_id, SmsTemplate.trigger == trigger))
    return body or None


def list_templates(session: Session, shop_id: int) -> list[TemplateView]:
    from repairtext.services.shops import status_names

    saved = {t.trigger: t.body for t in session.scalars(select(SmsTemplate).where(SmsTemplate.shop_id == shop_id))}
    triggers = [INITIAL_PROBLEM] + [STATUS_PREFIX + s for s in status_names(session, shop_id)]
    return [
        TemplateView(t, saved.get(t) or None, saved.get(t) == DEFAULT_TEMPLATES.get(t)) for t in triggers
    ]


def do_save_template(session: Session, shop_id: int, trigger: str, body: str, now) -> TemplateView:
    """An empty body turns the text for that trigger off."""
    trigger = check_trigger(session, shop_id, trigger)
    body = (body or "").strip()
    if body:
        check_template(body)
    row = session.scalar(select(SmsTemplate).where(SmsTemplate.shop_id == shop_id, SmsTemplate.trigger == trigger))
    if row is None:
        row = SmsTemplate(shop_id=shop_id, trigger=trigger, body=body, updated_at=now)
        session.add(row)
    else:
        row.body, row.updated_at = body, now
    return TemplateView(trigger, body or None, body == DEFAULT_TEMPLATES.get(trigger))
