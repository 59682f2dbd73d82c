"""What one template may cost: bounded while it renders, and proven within the bounds before it is saved.

The sandbox has no loops, so each filter runs at most once per render, but one filter can multiply its input:
eight nested `replace` filters turn 10 characters into a billion. So while a template renders, every value a filter
makes is capped (MAX_VALUE_CHARS: checked before `replace` and `join` build it, after any other filter, whose result
is at most 12 times its input and arguments), the text is capped (MAX_TEXT_CHARS), and so is the render's work
(MAX_WORK: the characters filters read and write, plus one a call; CPU_SECONDS as a last resort).

RULES, applied to the template alone with each variable at its longest, give an upper bound on every value, on the
text and on the work; `cost_problem` names the first bound a template could break, and the template is refused
when saved. So a template that saves renders within the bounds for any ticket (tests/security checks each rule
against its filter), and one saved before these bounds existed has its text refused instead of running away.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from liquid import BoundTemplate, Undefined
from liquid.builtin.content import ContentNode
from liquid.builtin.expressions import FilteredExpression, Path
from liquid.builtin.expressions.primitive import Literal
from liquid.builtin.output import OutputNode
from liquid.exceptions import (
    FilterArgumentError,
    FilterError,
    OutputStreamLimitError,
    ResourceLimitError,
)
from liquid.filter import sequence_filter

MAX_TEXT_CHARS = 4_800       # as long as a text a person may type (CommentIn.sms_body)
MAX_VALUE_CHARS = 40_000     # four times the longest variable (ticket.problem), so filters on it still work
MAX_WORK = 400_000           # characters all filters of one render may read and write: ~10 passes over the above
MAX_DIGITS = 4_000           # Python's str() refuses ints of over 4,300 digits
CPU_SECONDS = 0.2            # never reached by a template within MAX_WORK; there in case a filter is slower

# The longest each variable can be (their columns and API limits); the portal URL with a generous public URL.
VARIABLE_CHARS = {
    "customer.first_name": 200, "customer.name": 200, "ticket.number": 10, "ticket.subject": 200,
    "ticket.status": 60, "ticket.problem": 10_000, "ticket.portal_url": 300, "shop.name": 120, "shop.phone": 40,
}

TOO_BIG = "'{name}' can produce more than {limit:,} characters (the most any value in a text may hold)"
TOO_LONG = "the text would be more than {limit:,} characters (the most a text may hold)"
TEMPLATE_TOO_LONG = ("the template can produce more than {limit:,} characters (the most a text may hold); "
                     "shorten long variables, e.g. {{{{ ticket.problem | truncate: 300 }}}}")
TOO_SLOW = "the template takes longer than one text may take ({limit} s of CPU)"
TOO_MUCH_WORK = ("the template does more work than one text may take (its filters would handle more than "
                 "{limit:,} characters)")


class TemplateTooCostly(ResourceLimitError):
    """A render that would break a bound; raised while it runs, before the value is built where that matters."""


# --- While a template renders --------------------------------------------------------------------------------

@dataclass
class _Budget:
    cpu_deadline: float
    work: int = 0

    def spend(self, units: int) -> None:
        self.work += units + 1
        if self.work > MAX_WORK:
            raise TemplateTooCostly(TOO_MUCH_WORK.format(limit=MAX_WORK), token=None)
        if time.thread_time() > self.cpu_deadline:
            raise TemplateTooCostly(TOO_SLOW.format(limit=CPU_SECONDS), token=None)


_budget: ContextVar[_Budget | None] = ContextVar("template_budget", default=None)


def size_of(value: object) -> int:
    """A value's size in characters as the bounds count it: a string's length; a list's items plus theirs."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, (list, tuple)):
        return len(value) + sum(size_of(item) for item in value)
    if isinstance(value, Undefined):
        return 0
    if value is None or isinstance(value, bool):
        return 5  # at most 'false'; a nil in a list is joined as 'None'
    if isinstance(value, int):
        return abs(value).bit_length() * 30103 // 100_000 + 2  # its digits, without str() (4,300-digit limit)
    return len(str(value))  # floats, decimals, dates, Liquid's nil: short whatever their value


def _as_text(value: object) -> str:
    """What a string filter makes of its input (liquid.filter.string_filter)."""
    return "" if value is None else value if isinstance(value, str) else str(value)


def _replace_size(value: object, seq: object = "", sub: object = "", *_: object, **__: object) -> int:
    text, seq, sub = _as_text(value), _as_text(seq), _as_text(sub)
    count = text.count(seq) if seq else len(text) + 1
    return len(text) + count * (len(sub) - len(seq))


def _join_size(value: object, separator: object = " ", *_: object, **__: object) -> int:
    items = value if isinstance(value, (list, tuple)) else [value]
    return sum(size_of(item) for item in items) + max(len(items) - 1, 0) * len(_as_text(separator))


# Filters that can multiply their input in one call: their result's size is worked out before it is built.
_SIZE_FIRST: dict[str, Callable[..., int]] = {"replace": _replace_size, "join": _join_size}


def _too_big(name: str) -> TemplateTooCostly:
    return TemplateTooCostly(TOO_BIG.format(name=name, limit=MAX_VALUE_CHARS), token=None)


def bounded_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """`func` refusing to read or make more than the bounds allow; Liquid's with_environment flags are kept."""
    size_first = _SIZE_FIRST.get(name)

    @functools.wraps(func)
    def bounded(value: object, *args: object, **kwargs: object) -> Any:
        budget = _budget.get()
        if budget is None:
            raise TemplateTooCostly("templates render only through BoundedTemplate.render", token=None)
        budget.spend(size_of(value) + sum(size_of(a) for a in args))
        if size_first is not None and size_first(value, *args) > MAX_VALUE_CHARS:
            raise _too_big(name)
        try:
            result = func(value, *args, **kwargs)
        except (ArithmeticError, ValueError, LookupError, RecursionError) as exc:
            # Liquid turns a filter's TypeError into a template error, not these: `{{ customer.name | sum }}`
            # raised decimal.InvalidOperation, a 500. A filter failing on a shop's values is the template's error.
            raise FilterError(f"{name}: cannot take this value ({type(exc).__name__})", token=None) from None
        made = size_of(result)
        if made > MAX_VALUE_CHARS:
            raise _too_big(name)
        if isinstance(result, int) and made > MAX_DIGITS:  # its str() would raise: a 500, not a text
            raise TemplateTooCostly(f"'{name}' can produce a number of more than {MAX_DIGITS:,} digits", token=None)
        budget.spend(made)
        return result

    return bounded


@sequence_filter
def uniq(sequence: list, key: object = None) -> list:
    """Liquid's `uniq` compares each item with every one before it (quadratic); the same result, by hashing."""
    seen: set = set()
    unhashable: list = []
    result = []
    for obj in sequence:
        if key is None:
            item = obj
        else:
            try:
                item = obj[key]
            except (KeyError, IndexError):
                item = None
            except TypeError as err:
                raise FilterArgumentError(f"can't read property '{key}' of {obj}", token=None) from err
        try:
            if item in seen:
                continue
            seen.add(item)
        except TypeError:
            if item in unhashable:
                continue
            unhashable.append(item)
        result.append(obj)
    return result


class BoundedTemplate(BoundTemplate):
    """Every render gets its own budget; a text over MAX_TEXT_CHARS is refused, not cut."""

    def render(self, *args: Any, **kwargs: Any) -> str:
        token = _budget.set(_Budget(cpu_deadline=time.thread_time() + CPU_SECONDS))
        try:
            text = super().render(*args, **kwargs).strip()
        except OutputStreamLimitError:
            raise TemplateTooCostly(TOO_LONG.format(limit=MAX_TEXT_CHARS), token=None) from None
        finally:
            _budget.reset(token)
        if len(text) > MAX_TEXT_CHARS:
            raise TemplateTooCostly(TOO_LONG.format(limit=MAX_TEXT_CHARS), token=None)
        return text

    async def render_async(self, *args: Any, **kwargs: Any) -> str:
        raise NotImplementedError("templates render synchronously, within their budget")


# Bytes the output stream may take before the text is refused: any text of MAX_TEXT_CHARS characters, plus the
# whitespace around it that is stripped, fits.
OUTPUT_STREAM_BYTES = 4 * (MAX_TEXT_CHARS + 1_600)


# --- Before a template is saved: the same bounds, from the template alone -------------------------------------

@dataclass(frozen=True)
class Arg:
    chars: int                  # the most characters it can have
    literal: object = None      # its value when the template spells it out


def _keep(n: int, args: list[Arg]) -> int:
    return n + 5  # at most the input, made a one-item list (the array filters given a string), or nil


def _plus_args(n: int, args: list[Arg]) -> int:
    return n + sum(a.chars for a in args) + 2


def _times(factor: int, extra: int = 0) -> Callable[[int, list[Arg]], int]:
    return lambda n, args: factor * n + extra


def _number(n: int, args: list[Arg]) -> int:
    return n + sum(a.chars for a in args) + 320  # the arguments' digits; a float made an int has up to 309


def _replace(n: int, args: list[Arg]) -> int:
    seq = args[0] if args else Arg(0, "")
    sub = args[1].chars if len(args) > 1 else 0
    shortest = len(seq.literal) if isinstance(seq.literal, str) else 0
    if sub <= shortest and shortest:
        return n
    per_match = sub - shortest
    matches = n // shortest if shortest else n + 1
    return n + matches * per_match


def _join(n: int, args: list[Arg]) -> int:
    separator = args[0].chars if args else 1
    return n + n * separator  # a list of size n has at most n items and n characters


def _truncate(n: int, args: list[Arg]) -> int:
    length = args[0].literal if args else 50
    end = args[1] if len(args) > 1 else Arg(3, "...")
    if isinstance(length, int) and not isinstance(length, bool) and isinstance(end.literal, str) \
            and length >= len(end.literal):
        return min(n, length)
    return n + end.chars


def _date(n: int, args: list[Arg]) -> int:
    return n + 40 * (sum(a.chars for a in args) + 1)  # no strftime directive writes 40 characters


# How big each filter's result can be, given the most its input (n) and arguments can be. Every filter the sandbox
# offers must be here (templates.py checks): a new one without a rule is refused, not guessed.
RULES: dict[str, Callable[[int, list[Arg]], int]] = {
    **dict.fromkeys((
        "base64_decode", "base64_url_safe_decode", "compact", "first", "last", "find", "lstrip", "map", "remove",
        "remove_first", "remove_last", "reject", "reverse", "rstrip", "safe", "slice", "sort", "sort_natural",
        "squish", "strip", "strip_html", "strip_newlines", "uniq", "url_decode", "where",
    ), _keep),
    "split": _times(2, 1),  # n one-character items
    **dict.fromkeys(("append", "prepend", "concat", "default", "replace_first", "replace_last", "truncatewords"),
                    _plus_args),
    **dict.fromkeys(("capitalize", "downcase", "upcase"), _times(3)),  # 'ﬃ'.upper() == 'FFI'
    **dict.fromkeys(("escape", "escape_once", "escapejs"), _times(6)),  # '"' -> '&quot;', 'é' -> '\\u00E9'
    "newline_to_br": _times(7),  # '\n' -> '<br />\n'
    "url_encode": _times(12),  # a 4-byte character -> '%F0%9F%98%80'
    **dict.fromkeys(("base64_encode", "base64_url_safe_encode"), _times(6, 4)),  # 4 bytes a character, 4/3
    **dict.fromkeys(("abs", "ceil", "floor", "round", "plus", "minus", "times", "divided_by", "modulo",
                     "at_least", "at_most", "sum"), _number),
    **dict.fromkeys(("size", "find_index", "has"), lambda n, args: 32),
    "replace": _replace, "join": _join, "truncate": _truncate, "date": _date,
}
# String filters see a list as Python writes it (str(list)): quotes, commas and escapes, at most 4x its size.
_STRING_FILTERS = frozenset(RULES) - frozenset((
    "compact", "concat", "first", "last", "find", "find_index", "has", "join", "map", "reject", "reverse", "size",
    "slice", "sort", "sort_natural", "sum", "uniq", "where", "default",
    "abs", "ceil", "floor", "round", "plus", "minus", "times", "divided_by", "modulo", "at_least", "at_most"))
_MAKE_LISTS = frozenset(("compact", "concat", "map", "reject", "reverse", "slice", "sort", "sort_natural", "split",
                         "uniq", "where", "default", "first", "last", "find"))


@dataclass(frozen=True)
class CostProblem:
    index: int | None  # where in the source, for the line number
    message: str


class _Refused(Exception):
    """Carries the first problem out of the walk over a template's filters."""

    def __init__(self, problem: CostProblem):
        self.problem = problem


def _primitive_chars(expression: object) -> Arg:
    if isinstance(expression, Literal):
        value = expression.value
        return Arg(len(value) if isinstance(value, str) else size_of(value), value)
    if isinstance(expression, Path):
        segments = [str(s) for s in expression.path]
        longest = VARIABLE_CHARS.get(".".join(segments[:2]), max(VARIABLE_CHARS.values()))
        return Arg(max(longest, 32) if len(segments) > 2 else longest)
    return Arg(5)  # nil, empty, blank, true, false


def _value_bound(expression: FilteredExpression, work: list[int]) -> int:
    """The most characters `expression` can make; each filter's input and result are added to `work`."""
    n = _primitive_chars(expression.left).chars
    may_be_list = False
    for f in expression.filters or ():
        args = [_primitive_chars(getattr(a, "value", a)) for a in f.args]
        seen = 4 * n + 2 if may_be_list and f.name in _STRING_FILTERS else n
        result = RULES[f.name](seen, args)
        work.append(n + sum(a.chars for a in args) + result + 2)
        if result > MAX_VALUE_CHARS:
            raise _Refused(CostProblem(f.token.start_index, TOO_BIG.format(name=f.name, limit=MAX_VALUE_CHARS)))
        n, may_be_list = result, f.name in _MAKE_LISTS or (may_be_list and f.name not in _STRING_FILTERS)
    return n


def cost_problem(nodes: list, expressions: list) -> CostProblem | None:
    """The first bound the template can break for some ticket, or None. `nodes` and `expressions` are all of the
    template's nodes and expressions (templates.py walks them); filters outside an output still count as work."""
    work: list[int] = []
    text = sum(len(node.text) for node in nodes if isinstance(node, ContentNode))
    try:
        outputs = {id(node.expression) for node in nodes if isinstance(node, OutputNode)}
        for expression in expressions:
            if isinstance(expression, FilteredExpression):
                chars = _value_bound(expression, work)
                if id(expression) in outputs:
                    text += chars
    except _Refused as refused:
        return refused.problem
    if sum(work) > MAX_WORK:
        return CostProblem(None, TOO_MUCH_WORK.format(limit=MAX_WORK))
    if text > MAX_TEXT_CHARS:
        return CostProblem(None, TEMPLATE_TOO_LONG.format(limit=MAX_TEXT_CHARS))
    return None
