"""``tipline campaigns …``: load campaign files, see and control their messages.

A MESSAGE is named by its number (``campaigns list``), by ``campaign/key``
(``june-action-month/launch``) or by its key alone when no other campaign uses it.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bot.bootstrap import App
from bot.campaigns.schema import CampaignFileError, check_campaign, load_campaign_file
from bot.campaigns.service import MessageStatus, local_time, rule_of
from bot.commandline import console, fail, run_on_app
from storage.campaigns import MessageRow
from storage.deliveries import COUNTED, FINAL

__all__ = ["campaigns_app"]

campaigns_app = typer.Typer(
    help="Awareness campaigns: load files, see and control their messages.",
    no_args_is_help=True,
)


MessageArg = Annotated[
    str, typer.Argument(help="Message number, campaign/key, or key.", show_default=False)
]


async def _message(tipline: App, ref: str) -> MessageRow:
    found = await tipline.campaigns.find(ref)
    if not found:
        raise fail(f"No campaign message {ref!r} (see `tipline campaigns list`).")
    if len(found) > 1:
        names = ", ".join(f"{m.id} ({m.ref})" for m in found)
        raise fail(f"{ref!r} names several messages: {names}. Use the number or campaign/key.")
    return found[0]


def _audience(message: MessageRow) -> str:
    groups = ", ".join(message.audience.get("groups") or ["all"])
    areas = message.audience.get("areas")
    if areas is None:
        return f"{groups}; everywhere"
    places = []
    for area in areas:
        communes = area.get("communes")
        places.append(f"{area['province']}" + (f" ({len(communes)} communes)" if communes else ""))
    return f"{groups}; provinces {', '.join(places)}"


@campaigns_app.command("load")
def load(
    file: Annotated[Path, typer.Argument(help="A campaign file, e.g. content/campaigns/….yaml.")],
) -> None:
    """Check a campaign file and load it into the database (new messages, changed texts,
    audiences and send times); the database is what the scheduler follows."""
    try:
        campaign = load_campaign_file(file)
    except CampaignFileError as error:
        console.print(f"[red]{file} cannot be loaded:[/red]")
        for problem in error.problems:
            console.print(f"  - {problem}", markup=False)
        raise typer.Exit(1) from None
    problems = check_campaign(campaign)
    if problems:
        console.print(f"[red]{file} has {len(problems)} problem(s); nothing was loaded:[/red]")
        for problem in problems:
            console.print(f"  - {problem}", markup=False)
        raise typer.Exit(1)

    async def work(tipline: App) -> None:
        report = await tipline.campaigns.load(campaign)
        console.print(
            f"Campaign [bold]{report.campaign}[/bold] loaded: {len(report.created)} new, "
            f"{len(report.rescheduled)} rescheduled, {len(report.updated)} updated, "
            f"{len(report.unchanged)} unchanged message(s)."
        )
        if report.absent:
            console.print(
                f"[yellow]{len(report.absent)} stored message(s) are not in the file and stay "
                f"as they are: {', '.join(report.absent)}. Cancel them with "
                "`tipline campaigns cancel CAMPAIGN/KEY` if they should not go out.[/yellow]"
            )

    run_on_app(work)


@campaigns_app.command("list")
def list_messages(
    campaign: Annotated[str | None, typer.Option(help="Only this campaign (its id).")] = None,
) -> None:
    """List campaign messages: when they go out, to whom, and their state."""

    async def work(tipline: App) -> None:
        messages = await tipline.campaigns.messages(campaign)
        if not messages:
            console.print("No campaign messages. Load a file: tipline campaigns load FILE")
            return
        table = Table("ID", "Message", "Send", "Next (local)", "State", "Audience")
        for m in messages:
            table.add_row(
                str(m.id),
                m.ref,
                rule_of(m).short(),
                local_time(m.due_at, m.timezone),
                m.state,
                _audience(m),
            )
        console.print(table)

    run_on_app(work)


@campaigns_app.command("status")
def status(
    message: Annotated[
        str | None, typer.Argument(help="One message (default: every message sent so far).")
    ] = None,
) -> None:
    """Deliveries per message, occurrence and channel: sent, resent (in flight when a worker
    stopped, sent again: may have arrived twice), pending, failed, blocked, skipped, and
    uncertain (in flight when a worker stopped, not sent again)."""

    async def work(tipline: App) -> None:
        chosen = await _message(tipline, message) if message else None
        rows = await tipline.campaigns.status(chosen.id if chosen else None)
        if not rows:
            console.print("Nothing has been sent yet.")
            return
        table = Table(
            "ID", "Message", "Year", "Channel", "State", *(s.capitalize() for s in COUNTED)
        )
        for row in rows:
            _status_rows(table, row)
        console.print(table)

    run_on_app(work)


def _status_rows(table: Table, row: MessageStatus) -> None:
    m = row.message
    state = m.state
    if m.state == "missed" and row.occurrence == m.occurrence:
        state = "missed"
    elif row.occurrence != m.occurrence:
        state = "—"
    if not row.counts:
        table.add_row(
            str(m.id), m.ref, str(row.occurrence or "—"), "—", state, *("" for _ in COUNTED)
        )
        return
    for channel, counts in sorted(row.counts.items()):
        table.add_row(
            str(m.id),
            m.ref,
            str(row.occurrence),
            channel,
            state,
            *(str(counts.get(s, 0)) for s in COUNTED),
        )


@campaigns_app.command("send-now")
def send_now(
    message: MessageArg,
    here: Annotated[
        bool,
        typer.Option(
            "--here",
            help="Send from this command (needs TIPLINE_TELEGRAM_TOKEN) instead of leaving it "
            "to the running service.",
        ),
    ] = False,
    follow: Annotated[bool, typer.Option(help="Show a progress bar until it is done.")] = True,
) -> None:
    """Send a message now (this year's occurrence): one delivery per matching subscriber,
    never twice to the same one."""

    async def work(tipline: App) -> None:
        chosen = await _message(tipline, message)
        try:
            started = await tipline.campaigns.send_now(chosen.id)
        except ValueError as error:
            raise fail(f"{chosen.ref}: {error}.") from error
        console.print(f"{chosen.ref} ({started.occurrence}): {started.added} new deliveries.")
        runtime = None
        if here:
            from bot.campaigns.runtime import CampaignRuntime, configured_senders

            senders = configured_senders(tipline.settings)
            if not senders:
                raise fail("--here needs TIPLINE_TELEGRAM_TOKEN or TIPLINE_ZALO_TOKEN.")
            runtime = CampaignRuntime(tipline, senders, scheduler=False)
            await runtime.start()
        elif follow:
            console.print(
                "The running service (tipline serve) delivers it; Ctrl-C stops following, "
                "not the delivery."
            )
        try:
            if follow or here:
                await _follow(tipline, chosen.id, started.occurrence)
        finally:
            if runtime is not None:
                await runtime.stop()

    run_on_app(work)


async def _follow(tipline: App, message_id: int, occurrence: int) -> None:
    """A progress bar of one occurrence until nothing is left to send now."""
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
    )
    counts: dict[str, int] = {}
    waiting = 0
    with (
        contextlib.suppress(KeyboardInterrupt, asyncio.CancelledError),
        Progress(*columns, console=console) as progress,
    ):
        task = progress.add_task("Delivering", total=None, detail="")
        while True:
            counts = await tipline.campaigns.progress(message_id, occurrence)
            waiting = await tipline.campaigns.waiting(message_id, occurrence)
            total = sum(counts.values())
            done = sum(counts.get(s, 0) for s in FINAL)
            detail = f"sent {counts.get('sent', 0)}"
            problems = sum(counts.get(s, 0) for s in ("failed", "blocked"))
            if problems:
                detail += f", failed/blocked {problems}"
            if waiting:
                detail += f", waiting {waiting}"
            progress.update(task, total=total, completed=done, detail=detail)
            current = await tipline.campaigns.message(message_id)
            left = total - done
            if left == 0 or (left == waiting and counts.get("sending", 0) == 0):
                break
            if current is None or current.state in ("paused", "cancelled"):
                break
            await asyncio.sleep(0.5)
    summary = ", ".join(f"{s} {counts[s]}" for s in COUNTED if counts.get(s))
    console.print(f"Deliveries: {summary or 'none'}.")
    if waiting:
        console.print(
            f"{waiting} wait for later (quiet hours until 07:00, or a retry); they go out then."
        )


@campaigns_app.command("pause")
def pause(message: MessageArg) -> None:
    """Hold a message: nothing more of it goes out until `resume`."""

    async def work(tipline: App) -> None:
        chosen = await _message(tipline, message)
        if not await tipline.campaigns.pause(chosen.id):
            raise fail(
                f"{chosen.ref} is {chosen.state}; only a scheduled, sending or missed "
                "message can be paused."
            )
        console.print(f"{chosen.ref} paused.")

    run_on_app(work)


@campaigns_app.command("resume")
def resume(message: MessageArg) -> None:
    """Continue a paused message, or schedule a cancelled one again (from its next time)."""

    async def work(tipline: App) -> None:
        chosen = await _message(tipline, message)
        state = await tipline.campaigns.resume(chosen.id)
        if state is None:
            raise fail(f"{chosen.ref} is {chosen.state}, not paused or cancelled.")
        console.print(f"{chosen.ref} resumed: {state}.")

    run_on_app(work)


@campaigns_app.command("cancel")
def cancel(message: MessageArg) -> None:
    """Stop a message for good: deliveries not yet sent are skipped, no new occurrence."""

    async def work(tipline: App) -> None:
        chosen = await _message(tipline, message)
        skipped = await tipline.campaigns.cancel(chosen.id)
        if skipped is None:
            raise fail(f"{chosen.ref} is already cancelled.")
        console.print(f"{chosen.ref} cancelled; {skipped} waiting deliveries skipped.")

    run_on_app(work)
