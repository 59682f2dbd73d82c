"""Plans are data (plans.toml, shipped in the package): allowances change without a code change."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class Plan:
    code: str
    label: str
    monthly_credits: int


@dataclass(frozen=True)
class AddonPack:
    credits: int
    price_cents: int
    available_after_days: int


@dataclass(frozen=True)
class Catalog:
    plans: dict[str, Plan]
    addon: AddonPack

    def plan(self, code: str) -> Plan:
        return self.plans[code]


def parse_catalog(text: str) -> Catalog:
    data = tomllib.loads(text)
    plans = {
        code: Plan(code=code, label=p["label"], monthly_credits=int(p["monthly_credits"]))
        for code, p in data["plans"].items()
    }
    a = data["addon"]
    return Catalog(plans, AddonPack(int(a["credits"]), int(a["price_cents"]), int(a["available_after_days"])))


@cache
def load_catalog() -> Catalog:
    return parse_catalog(resources.files("repairtext").joinpath("plans.toml").read_text())
