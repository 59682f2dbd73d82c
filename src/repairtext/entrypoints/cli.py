"""The `repairtext` command."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime

import typer

from repairtext.config import Settings, check_serving_secrets

app = typer.Typer(help="repairtext: two-way SMS and MMS for a repair shop's ticket desk.", no_args_is_help=True)
shop_app = typer.Typer(help="Shops (tenants).", no_args_is_help=True)
credits_app = typer.Typer(help="The credit ledger.", no_args_is_help=True)
app.add_typer(shop_app, name="shop")
staff_app = typer.Typer(help="Staff accounts: who signs in to a shop's pages.", no_args_is_help=True)
app.add_typer(credits_app, name="credits")
app.add_typer(staff_app, name="staff")


def _context(settings: Settings | None = None):
    from repairtext.bootstrap import build_context

    return build_context(settings or Settings.from_env())


def _quiet_logging() -> None:
    from repairtext.adapters import logs
    from repairtext.entrypoints import log_redaction

    log_redaction.install()
    logs.configure(Settings.from_env().log_format)


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


@app.command()
def migrate() -> None:
    """Upgrade the database to the newest schema (Alembic)."""
    from repairtext.adapters.db.migrate import upgrade

    settings = Settings.from_env()
    upgrade(settings.database_url)
    typer.echo(f"database is up to date ({settings.database_url.split('@')[-1]})")


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Migrate, then serve the API, staff pages, portal and webhooks (and the inline worker)."""
    import uvicorn

    from repairtext.adapters.db.migrate import upgrade
    from repairtext.entrypoints.app import create_app

    _quiet_logging()
    settings = Settings.from_env()
    problems = check_serving_secrets(settings)
    if problems:
        _fail("; and ".join(problems) + " (`repairtext demo` needs none)")
    upgrade(settings.database_url)
    # log_config=None: uvicorn keeps the handlers configured above (format, request ids, redaction).
    uvicorn.run(create_app(_context(settings)), host=host, port=port, log_level="info", log_config=None,
                # Event streams never end by themselves: give them 5 s, then close them (clients reconnect).
                timeout_graceful_shutdown=5)


@app.command()
def worker(concurrency: int = typer.Option(4, min=1, max=64),
           metrics_port: int = typer.Option(0, help="serve this worker's /metrics on 127.0.0.1:PORT (0: off)")) -> None:
    """Run a worker process; any number may run against one PostgreSQL."""
    import signal
    import threading

    from repairtext.services.worker import Worker

    _quiet_logging()
    stop = threading.Event()
    ctx = _context()
    if metrics_port:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr="127.0.0.1", registry=ctx.metrics.registry)
    running = Worker(ctx, concurrency=concurrency)

    def shut_down(*_) -> None:
        # Stop claiming; what is under way finishes and is recorded, so no lease is left to run out.
        stop.set()
        running.wake_lanes()

    signal.signal(signal.SIGTERM, shut_down)
    signal.signal(signal.SIGINT, shut_down)
    running.run_forever(stop)


@shop_app.command("create")
def shop_create(
    name: str = typer.Option(...), plan: str = typer.Option(...), number: list[str] = typer.Option(...),
    time_zone: str = typer.Option("America/New_York"), started: str | None = typer.Option(None, help="YYYY-MM-DD"),
) -> None:
    """Create a shop; prints its id, API key and Flowroute webhook token as JSON."""
    from repairtext.domain.errors import ValidationFailed
    from repairtext.services.shops import do_create_shop

    try:
        started_on = date.fromisoformat(started) if started else None
    except ValueError:
        _fail("--started must be YYYY-MM-DD")
    ctx = _context()
    try:
        new = do_create_shop(ctx, name=name, plan=plan, numbers=number, time_zone=time_zone, started=started_on)
    except ValidationFailed as exc:
        _fail(str(exc))
    s = ctx.settings
    typer.echo(json.dumps({
        "id": new.shop.id, "name": new.shop.name, "plan": new.shop.plan, "api_key": new.api_key,
        "flowroute_token": new.shop.flowroute_token, "numbers": [n.e164 for n in new.shop.numbers],
        "twilio_inbound_url": f"{s.public_url}/webhooks/twilio/inbound",
        "flowroute_inbound_url": f"{s.public_url}/webhooks/flowroute/{new.shop.flowroute_token}/inbound",
    }, indent=2))


@staff_app.command("create")
def staff_create(shop_id: int = typer.Option(..., "--shop-id"), email: str = typer.Option(...),
                 name: str = typer.Option(...), role: str = typer.Option("owner", help="owner or staff")) -> None:
    """Create a staff account; the password is read from stdin (one line), never from the command line, where
    other users of the machine could read it."""
    from repairtext.domain.errors import ValidationFailed
    from repairtext.services import staff

    password = sys.stdin.readline().rstrip("\r\n")
    try:
        account = staff.do_create_account(_context(), shop_id, email=email, name=name, role=role, password=password)
    except ValidationFailed as exc:
        _fail(str(exc))
    typer.echo(json.dumps({"id": account.id, "email": account.email, "name": account.name, "role": account.role}))


@staff_app.command("invite")
def staff_invite(shop_id: int = typer.Option(..., "--shop-id"), email: str = typer.Option(...),
                 role: str = typer.Option("staff", help="owner or staff")) -> None:
    """Invite someone to a shop: prints the one-time link (valid 7 days) to give them."""
    from repairtext.domain.errors import ValidationFailed
    from repairtext.entrypoints.web.routes_staff import invite_link
    from repairtext.services import staff

    ctx = _context()
    try:
        invite, token = staff.do_invite(ctx, shop_id, None, email=email, role=role)
    except ValidationFailed as exc:
        _fail(str(exc))
    typer.echo(json.dumps({"id": invite.id, "email": invite.email, "role": invite.role,
                           "link": invite_link(ctx.settings.public_url, token),
                           "expires_at": invite.expires_at.isoformat()}))


@credits_app.command("rollover")
def credits_rollover(at: str = typer.Option(..., help="ISO datetime with offset")) -> None:
    """Start the month containing AT for every shop: expire last month's allowance, grant this month's."""
    from repairtext.services.credits import do_rollover

    try:
        instant = datetime.fromisoformat(at)
    except ValueError:
        _fail("--at must be an ISO 8601 datetime, e.g. 2026-12-01T00:00:00+00:00")
    if instant.tzinfo is None:
        _fail("--at needs a UTC offset, e.g. 2026-12-01T00:00:00-05:00")
    rolled = do_rollover(_context(), instant)
    typer.echo(json.dumps({"rolled_shops": rolled}))


@credits_app.command("check")
def credits_check() -> None:
    """Recompute every balance from the ledger and compare with the cached balances."""
    from repairtext.services.credits import check_ledger

    problems = check_ledger(_context())
    for p in problems:
        typer.echo(p)
    if problems:
        raise typer.Exit(1)
    typer.echo("ledger and balances agree")


@app.command()
def segments(jsonl: bool = typer.Option(False, "--jsonl"), smart: bool = typer.Option(False, "--smart")) -> None:
    """Count SMS segments of the text on stdin, exactly as given."""
    from repairtext.domain.segments import count_segments

    def result(text: str) -> str:
        c = count_segments(text, smart=smart)
        return json.dumps({"encoding": c.encoding, "segments": c.segments, "units": c.units})

    if not jsonl:
        typer.echo(result(sys.stdin.read()))
        return
    for number, line in enumerate(sys.stdin, start=1):
        if not line.strip():
            continue
        try:
            text = json.loads(line)
        except json.JSONDecodeError as exc:
            _fail(f"line {number}: not JSON ({exc.msg})")
        if not isinstance(text, str):
            _fail(f"line {number}: expected a JSON string")
        typer.echo(result(text))


@app.command()
def simulator(port: int = 8025, host: str = "127.0.0.1") -> None:
    """Run the local Twilio + Flowroute simulator on its own."""
    from repairtext.simulator import serve as serve_simulator

    serve_simulator(port=port, host=host)


@app.command()
def demo(port: int = typer.Option(8000, min=1, max=65535, help="serve on 127.0.0.1:PORT")) -> None:
    """The embedded default: SQLite, in-process worker and provider simulator, a demo shop."""
    from repairtext.entrypoints.demo import PortTaken, run_demo

    try:
        run_demo(port=port)
    except PortTaken as exc:
        _fail(f"{exc}: is another demo still running? Pick another port: "
              f"make demo PORT={_other_port(port)} (or repairtext demo --port {_other_port(port)})")


def _other_port(port: int) -> int:
    return port + 1 if port < 65535 else 8123


if __name__ == "__main__":
    app()
