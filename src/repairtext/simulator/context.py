"""The one object a simulator app's routes share: its configuration, its state and its callback dispatcher."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from repairtext.simulator.callbacks import Dispatcher
from repairtext.simulator.config import SimulatorConfig
from repairtext.simulator.state import SimulatorState


class ControlError(Exception):
    """A control request the simulator cannot play (bad field, nowhere to post): 400/404 {"error": reason}."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Simulator:
    config: SimulatorConfig
    state: SimulatorState
    dispatcher: Dispatcher


def simulator(request: Request) -> Simulator:
    return request.app.state.simulator


def api_base(request: Request) -> str:
    """The simulator's URL as this caller reached it; links and media URLs are built on it."""
    return str(request.base_url).rstrip("/")
