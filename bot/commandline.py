"""What every ``tipline`` command module shares: the console, running against a bootstrapped
app, and failing with a message."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import typer
from rich.console import Console

from bot.bootstrap import App, bootstrap
from bot.config import SigningKeyProblem

__all__ = ["console", "fail", "run_on_app"]

console = Console()


def run_on_app(work: Callable[[App], Awaitable[Any]]) -> Any:
    """Bootstrap the app from the settings, run ``work`` on it, close it; its result."""

    async def main() -> Any:
        try:
            tipline = await bootstrap()
        except SigningKeyProblem as problem:
            raise fail(f"Signing key: {problem}") from problem
        try:
            return await work(tipline)
        finally:
            await tipline.close()

    return asyncio.run(main())


def fail(message: str) -> typer.Exit:
    """Print ``message`` in red; the exit (code 1) to raise."""
    console.print(f"[red]{message}[/red]")
    return typer.Exit(1)
