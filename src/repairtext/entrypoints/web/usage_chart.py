"""The credits page's usage chart as plain numbers for an inline SVG (templates/usage_chart.html): no script,
no drawing library, and it works the same with JavaScript off.

Each day is a column of the credits used so far in its allowance month, monthly below and add-on above, against
the allowance drawn as a dashed line: the question a shop asks is "will this month's credits last?". Columns live
in a nested SVG stretched to the width (preserveAspectRatio="none", lines keep their width with
vector-effect), while the text lives in the outer SVG in CSS pixels, so labels stay readable from 390 px to a
wide screen and nothing scrolls sideways. Positions are attributes, not style: the CSP allows no inline styles.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from repairtext.services.reports import DayUsage

HEIGHT = 240  # px, the whole chart
PLOT_TOP = 22  # px above the plot for the top label
PLOT_HEIGHT = 186  # px; the date labels sit below
SLOT = 10  # user units a day takes in the stretched plot
MAX_MONTH_LABELS = 3  # more month labels than this hide on narrow screens (class x-minor)


@dataclass(frozen=True)
class Bar:
    day: date
    title: str
    used: int
    monthly_to_date: int
    addon_to_date: int
    x: float
    width: float
    monthly_y: float
    monthly_height: float
    addon_y: float
    addon_height: float


@dataclass(frozen=True)
class Label:
    text: str
    x: str  # an SVG length: "0", "100%", "42.5%"
    anchor: str  # start, middle, end
    minor: bool = False


@dataclass(frozen=True)
class Chart:
    days: int
    width: int  # of the stretched plot, in user units
    bars: list[Bar]
    allowance: int
    allowance_y: float  # in the plot
    ticks: list[tuple[str, float]]  # label, y in the plot
    dividers: list[int]  # x of each month's 1st, in user units
    x_labels: list[Label]
    used_monthly: int
    used_addon: int
    summary: str

    height = HEIGHT
    plot_top = PLOT_TOP
    plot_height = PLOT_HEIGHT

    @property
    def used(self) -> int:
        return self.used_monthly + self.used_addon


NICE_STEPS = (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10)


def nice_ceiling(value: float) -> int:
    """The smallest of 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10^k at or above `value`: a round top for the axis,
    close enough above the tallest column that the chart uses its height."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in NICE_STEPS:
        if step * power >= value:
            return int(math.ceil(step * power))
    return int(10 * power)  # pragma: no cover - the loop always returns


def short(day: date, with_year: bool = False) -> str:
    return f"{day:%b} {day.day}" + (f", {day.year}" if with_year else "")


def build(usage: list[DayUsage], allowance: int) -> Chart:
    top = nice_ceiling(max([allowance] + [max(u.monthly_to_date, 0) + max(u.addon_to_date, 0) for u in usage]) * 1.08)
    scale = PLOT_HEIGHT / top

    def y(value: float) -> float:
        return round(PLOT_HEIGHT - value * scale, 2)

    width = 8 if len(usage) > 60 else 7  # long ranges: thinner gaps, so a day is still a visible stroke
    bars = []
    for i, u in enumerate(usage):
        monthly, addon = max(u.monthly_to_date, 0), max(u.addon_to_date, 0)
        if monthly + addon == 0:
            continue
        title = (f"{short(u.day)}: {u.used:,} used ({u.monthly:,} monthly, {u.addon:,} add-on); "
                 f"this month so far {monthly:,} of {allowance:,} monthly and {addon:,} add-on")
        bars.append(Bar(u.day, title, u.used, monthly, addon, i * SLOT + (SLOT - width) / 2, width,
                        y(monthly), round(monthly * scale, 2), y(monthly + addon), round(addon * scale, 2)))

    month_starts = [i for i, u in enumerate(usage) if u.day.day == 1 and i > 0]
    minor = len(month_starts) > MAX_MONTH_LABELS
    # No years on the axis (the range is written above the chart): short labels cannot collide at 390 px.
    labels = [Label(short(usage[0].day), "0", "start"), Label(short(usage[-1].day), "100%", "end")]
    clear = 9 if minor else 18  # % kept free beside the end labels; minor ones only show from 720 px up
    for i in month_starts:
        position = 100 * i / len(usage)
        if clear < position < 100 - clear:
            labels.append(Label(short(usage[i].day), f"{position:.2f}%", "middle", minor=minor))
    allowance_y = y(allowance)
    # A tick label beside the allowance's own would say the same number twice, one over the other.
    ticks = [(f"{v:,}", y(v)) for v in (top, top // 2 if top % 2 == 0 else 0) if v and abs(y(v) - allowance_y) > 14]
    return Chart(days=len(usage), width=len(usage) * SLOT, bars=bars, allowance=allowance,
                 allowance_y=allowance_y, ticks=ticks,
                 dividers=[i * SLOT for i in month_starts], x_labels=labels,
                 used_monthly=sum(u.monthly for u in usage), used_addon=sum(u.addon for u in usage),
                 summary=_summary(usage, allowance))


def _summary(usage: list[DayUsage], allowance: int) -> str:
    """The chart in words, for its <desc> and for everyone beside it: each month's standing at its last day."""
    last_of_month: dict[tuple[int, int], DayUsage] = {}
    for u in usage:
        last_of_month[(u.day.year, u.day.month)] = u
    used = sum(u.used for u in usage)
    parts = [f"{short(u.day, with_year=True)}: {max(u.monthly_to_date, 0):,} of the {allowance:,} monthly credits "
             f"and {max(u.addon_to_date, 0):,} add-on credits used so far that month"
             for u in last_of_month.values()]
    return (f"{used:,} credits used from {short(usage[0].day, with_year=True)} to "
            f"{short(usage[-1].day, with_year=True)}. " + "; ".join(parts) + ".")
