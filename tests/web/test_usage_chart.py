"""The chart's geometry (entrypoints/web/usage_chart.py): plain numbers, checked without a server."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from repairtext.entrypoints.web import usage_chart
from repairtext.entrypoints.web.usage_chart import PLOT_HEIGHT, SLOT
from repairtext.services.reports import DayUsage


def days(start: date, used: list[tuple[int, int]]) -> list[DayUsage]:
    """Daily (monthly, add-on) use from `start`, with month-to-date totals as the report computes them."""
    out, monthly, addon = [], 0, 0
    for i, (m, a) in enumerate(used):
        day = start + timedelta(days=i)
        if day.day == 1:
            monthly = addon = 0
        monthly, addon = monthly + m, addon + a
        out.append(DayUsage(day, m, a, monthly, addon))
    return out


@pytest.mark.parametrize(("value", "top"), [(0, 1), (1, 1), (1.1, 2), (27, 30), (216, 250), (1080, 1200), (5400, 6000)])
def test_the_axis_top_is_a_round_number_just_above(value, top):
    assert usage_chart.nice_ceiling(value) == top


def test_columns_stack_monthly_under_add_on_and_scale_to_the_allowance():
    chart = usage_chart.build(days(date(2026, 11, 1), [(0, 0), (100, 0), (0, 0), (100, 0), (0, 50)]), allowance=200)
    assert chart.width == 5 * SLOT and chart.used_monthly == 200 and chart.used_addon == 50
    assert [b.day.day for b in chart.bars] == [2, 3, 4, 5]  # nothing used yet on the 1st: no column
    scale = PLOT_HEIGHT / 300  # 250 used × 1.08 rounds up to 300
    full = chart.bars[-1]
    assert full.monthly_height == round(200 * scale, 2) and full.addon_height == round(50 * scale, 2)
    assert full.addon_y + full.addon_height == pytest.approx(full.monthly_y)  # add-on sits on the monthly part
    assert chart.allowance_y == pytest.approx(full.monthly_y)  # a used-up allowance reaches its line
    assert chart.bars[0].x == 1 * SLOT + 1.5 and chart.bars[0].width == 7
    assert "Nov 5: 50 used (0 monthly, 50 add-on)" in full.title
    assert chart.summary.startswith("250 credits used from Nov 1, 2026 to Nov 5, 2026.")


def test_the_month_to_date_starts_again_on_the_first_and_months_are_marked():
    usage = days(date(2026, 10, 30), [(5, 0), (5, 0), (1, 0), (0, 0)])
    chart = usage_chart.build(usage, allowance=25)
    assert [(b.day.isoformat(), b.monthly_to_date) for b in chart.bars] == [
        ("2026-10-30", 5), ("2026-10-31", 10), ("2026-11-01", 1), ("2026-11-02", 1)]
    assert chart.dividers == [2 * SLOT]
    assert [(label.text, label.x, label.minor) for label in chart.x_labels] == [("Oct 30", "0", False), ("Nov 2", "100%", False),
                                                                ("Nov 1", "50.00%", False)]
    assert "Oct 31, 2026: 10 of the 25 monthly credits" in chart.summary and "Nov 2, 2026: 1 of the 25" in chart.summary


def test_a_year_marks_every_month_but_labels_them_only_where_there_is_room():
    chart = usage_chart.build(days(date(2025, 11, 11), [(1, 0)] * 365), allowance=1000)
    assert len(chart.dividers) == 12
    minor = [label for label in chart.x_labels if label.minor]
    assert minor and all(9 < float(label.x.rstrip("%")) < 91 for label in minor)  # hidden under 720 px by the stylesheet
    assert [t for t, _y in chart.ticks] == ["1,200", "600"]
