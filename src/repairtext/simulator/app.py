"""The simulator's ASGI app: Twilio's and Flowroute's APIs plus the /_sim control API on one Starlette app."""

from __future__ import annotations

import contextlib

from starlette.applications import Starlette

from repairtext.simulator import control, flowroute_api, twilio_api
from repairtext.simulator.callbacks import Dispatcher
from repairtext.simulator.config import SimulatorConfig
from repairtext.simulator.context import Simulator
from repairtext.simulator.state import SimulatorState


def create_app(config: SimulatorConfig | None = None, state: SimulatorState | None = None) -> Starlette:
    config = config or SimulatorConfig()
    state = state if state is not None else SimulatorState()
    sim = Simulator(config, state, Dispatcher(config, state))

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        # Callbacks still waiting to be sent would outlive the event loop; stop them with the server.
        await sim.dispatcher.aclose()

    app = Starlette(routes=[*twilio_api.routes, *flowroute_api.routes, *control.routes], lifespan=lifespan)
    app.state.simulator = sim
    return app
