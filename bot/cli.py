"""The ``tipline`` command line (also ``python -m bot``)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from bot.bootstrap import App
from bot.campaigns.commands import campaigns_app
from bot.commandline import console, fail, run_on_app
from bot.config import SigningKeyProblem, load_settings, write_signing_key
from storage import sealing
from storage.keyring import NoSigningKey, UntrustedKey

# The police side (storage.police, storage.accounts) is imported by the commands that use it:
# `tipline serve --role bot` must not load it.
if TYPE_CHECKING:
    from aiogram import Bot

    from bot.channels.zalo import ZaloClient
    from bot.config import Settings
    from storage.police import KeyStatus, UnlockedOfficer

__all__ = ["app", "main"]

app = typer.Typer(
    help="Tipline: anonymous drug-crime tips, sealed and routed to commune police.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema and users.", no_args_is_help=True)
keys_app = typer.Typer(
    help="Province recovery keys, and the signing key that certifies every public key.",
    no_args_is_help=True,
)
queues_app = typer.Typer(help="Police queues (commune and province inboxes).", no_args_is_help=True)
officer_app = typer.Typer(help="Police officers and their queues.", no_args_is_help=True)
tips_app = typer.Typer(help="Read and answer tips as an officer.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")
app.add_typer(queues_app, name="queues")
app.add_typer(officer_app, name="officer")
app.add_typer(tips_app, name="tips")
audit_app = typer.Typer(help="The audit log of officer actions.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
tokens_app = typer.Typer(help="API tokens for police case systems.", no_args_is_help=True)
app.add_typer(tokens_app, name="tokens")
app.add_typer(campaigns_app, name="campaigns")


def _province_code(tipline: App, given: str) -> int:
    if given.isdigit():
        if tipline.directory.province(int(given)) is None:
            raise fail(f"No province with code {given}.")
        return int(given)
    found = tipline.directory.match_province(given)
    if not found:
        raise fail(f"No province matches {given!r}.")
    return found[0].code


def _new_password(prompt: str) -> str:
    while True:
        password: str = typer.prompt(prompt, hide_input=True, confirmation_prompt=True)
        if len(password) >= 10:
            return password
        console.print("Use at least 10 characters.")


# --- serve and demo -------------------------------------------------------------------------


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    role: Annotated[
        str | None,
        typer.Option(
            help="bot: web chat, webhooks and campaign delivery, for the internet; it holds no "
            "private key and refuses to start near one. console: the police console and "
            "/api/v1, for the police network. all: both in one process (the demo and small "
            "sites; weaker). Default: TIPLINE_ROLE, else all.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run the service on HOST:PORT in its role: web chat, Telegram and Zalo when their tokens
    are set (polling or webhook) and campaign delivery (bot); the police console and API
    (console); or everything (all). See docs/console.md, "Production layout"."""
    from bot.eventloop import loop_factory
    from bot.roles import ROLES, RoleError
    from bot.server import run

    overrides = {} if role is None else {"role": role}
    if role is not None and role not in ROLES:
        raise fail(f"--role must be one of {', '.join(ROLES)}.")
    settings = load_settings(**overrides)
    try:
        asyncio.run(
            run(settings, host=host or settings.host, port=port or settings.port),
            loop_factory=loop_factory(),
        )
    except (RoleError, SigningKeyProblem) as error:
        raise fail(f"Cannot start the {settings.role} role: {error}") from None


@app.command()
def demo(
    port: Annotated[int | None, typer.Option(help="Port for the web chat.")] = None,
    setup_only: Annotated[bool, typer.Option(help="Prepare demo data, then exit.")] = False,
) -> None:
    """Set up demo queues and accounts (printed on screen), then serve web chat and console."""
    from bot.demo import prepare
    from bot.eventloop import loop_factory
    from bot.server import run

    settings = load_settings()
    credentials = asyncio.run(prepare(settings))
    url = f"http://{settings.host}:{port or settings.port}/"
    console.rule("[bold]Tipline demo")
    console.print(f"Web chat:        [bold]{url}[/bold]")
    console.print(
        f"Demo province:   {credentials['province']} (queues: {', '.join(credentials['queues'])})"
    )
    console.print(
        f"Police console:  [bold]{url}console/[/bold]  (the first login sets up an "
        "authenticator app)"
    )
    table = Table("Role", "Username", "Password")
    for account in credentials["accounts"]:
        table.add_row(account["role"], account["username"], account["password"])
    console.print(table)
    console.print(
        f"Recovery key:    {credentials['recovery_file']}  passphrase "
        f"[bold]{credentials['recovery_passphrase']}[/bold]"
    )
    console.print("Read tips here:  tipline tips list --officer canbo.demo")
    console.rule()
    if not setup_only:
        asyncio.run(
            run(settings, host=settings.host, port=port or settings.port),
            loop_factory=loop_factory(),
        )


# --- database ---------------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations (also done at every start), as the database owner."""

    async def work() -> bool:
        from storage.db import Database
        from storage.vault import installation

        settings = load_settings()
        db = Database(settings.sqlalchemy_url())
        try:
            await db.upgrade()
            # A bot that may only read this row must find it made.
            await installation(db, settings.kdf())
            return db.is_sqlite
        finally:
            await db.dispose()

    sqlite = asyncio.run(work())
    console.print("Database is up to date.")
    if not sqlite:
        console.print(
            "If the bot and the console log in as their own database users, run "
            "[bold]tipline db roles[/bold] again now: new tables and columns are granted "
            "only then."
        )


@db_app.command("roles")
def db_roles(
    bot_role: Annotated[
        str, typer.Option("--bot-role", help="Role of the bot (webhooks, web chat, campaigns).")
    ] = "tipline_bot",
    console_role: Annotated[
        str, typer.Option("--console-role", help="Role of the police console and /api/v1.")
    ] = "tipline_console",
    login: Annotated[
        bool,
        typer.Option(help="Let both roles log in (set their passwords yourself, in psql)."),
    ] = False,
) -> None:
    """Create or update the PostgreSQL roles of the bot and the console, each with only the
    privileges it needs (see docs/deployment.md). Run it as the database owner after every
    [bold]tipline db upgrade[/bold]."""
    from storage.db import Database
    from storage.roles import RoleError, apply_roles
    from storage.vault import installation

    settings = load_settings()

    async def work() -> list[tuple[str, str, str]]:
        db = Database(settings.sqlalchemy_url())
        try:
            if db.is_sqlite:
                raise RoleError(
                    "Database roles need PostgreSQL: TIPLINE_DATABASE_URL points at SQLite, "
                    "which has no users. Nothing was changed."
                )
            if not await db.is_current():
                raise RoleError(
                    "The schema is not at the newest migration: run tipline db upgrade."
                )
            await installation(db, settings.kdf())
            granted = await apply_roles(db, bot=bot_role, console=console_role, login=login)
            return [(g.role, g.table, ", ".join(g.privileges)) for g in granted]
        finally:
            await db.dispose()

    try:
        rows = asyncio.run(work())
    except RoleError as error:
        raise fail(str(error)) from error
    table = Table("Role", "Table", "Privileges")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    console.print(
        f"Roles [bold]{bot_role}[/bold] and [bold]{console_role}[/bold] hold only these "
        "privileges. Run this again after every tipline db upgrade."
    )


# --- keys ---------------------------------------------------------------------------------------


@keys_app.command("init")
def keys_init(
    province: Annotated[str, typer.Option(help="Province code or name.")],
    out: Annotated[Path | None, typer.Option(help="Where to write the key file.")] = None,
) -> None:
    """Create the province recovery key and write it, passphrase-protected, to a file."""

    async def work(tipline: App) -> None:
        code = _province_code(tipline, province)
        info = tipline.directory.province(code)
        assert info is not None
        target = out or tipline.settings.data_dir / f"recovery-{code:02d}.key"
        if target.exists():
            raise fail(f"{target} already exists; refusing to overwrite a key.")
        passphrase = _new_password("Passphrase for the recovery key file")
        try:
            private = await tipline.police.create_recovery_key(code)
        except (ValueError, NoSigningKey) as error:
            raise fail(str(error)) from error
        armored = sealing.export_recovery_key(
            private, passphrase, tipline.settings.kdf(), f"Tipline recovery key, {info.name}"
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        target.touch(mode=0o600)
        target.write_text(armored)
        fingerprint = sealing.fingerprint(sealing.public_key_of(private))
        console.print(f"Recovery key for {info.name} written to [bold]{target}[/bold].")
        console.print(f"Fingerprint: [bold]{fingerprint}[/bold]")
        console.print(
            f"Certified by the signing key {tipline.verifier.fingerprint} "
            f"({tipline.verifier.printable})."
        )
        console.print(
            "Keep it OFFLINE: print it or copy it to two encrypted USB drives, seal them in the "
            "provincial police (PC04) safe with the passphrase kept apart, then delete the file "
            "from this server. It opens every tip of the province if all officer passwords "
            "are lost. See docs/keys.md."
        )

    run_on_app(work)


@keys_app.command("signing-init")
def keys_signing_init(
    out: Annotated[Path, typer.Option(help="Where to write the signing key (a new file).")],
) -> None:
    """Create the signing key on the police side and print the public key to pin in the
    bot's configuration (TIPLINE_TRUSTED_SIGNING_KEY)."""
    if out.exists():
        raise fail(f"{out} already exists; refusing to overwrite a key.")
    private = sealing.new_signing_key()
    write_signing_key(out, private)
    public = sealing.signing_public_key(private)
    console.print(f"Signing key written to [bold]{out}[/bold] (readable by you only).")
    console.print(f"Fingerprint: [bold]{sealing.signing_key_fingerprint(public)}[/bold]")
    console.print("Set on the police side:  TIPLINE_SIGNING_KEY_FILE=" + str(out))
    console.print("Pin in every process:    TIPLINE_TRUSTED_SIGNING_KEY=" + _pin(public))
    console.print("Then certify the existing keys: tipline keys certify. See docs/keys.md.")


def _pin(public: bytes) -> str:
    return sealing.format_signing_key(public)


@keys_app.command("pin")
def keys_pin() -> None:
    """Print the pinned signing public key: the value of TIPLINE_TRUSTED_SIGNING_KEY for
    the bot's configuration."""
    try:
        public, _private = load_settings().signing_keys()
    except SigningKeyProblem as error:
        raise fail(str(error)) from error
    del _private
    console.print(f"Fingerprint: {sealing.signing_key_fingerprint(public)}")
    console.print(f"TIPLINE_TRUSTED_SIGNING_KEY={_pin(public)}")


_KEY_STATES = {
    "certified": "[green]certified[/green]",
    "missing": "[yellow]no certificate[/yellow]",
    "invalid": "[red]certificate does not verify[/red]",
}


_SHORT_STATES = {
    "certified": "[green]yes[/green]",
    "missing": "[yellow]no[/yellow]",
    "invalid": "[red]BAD[/red]",
}


def _key_table(statuses: list[KeyStatus]) -> Table:
    table = Table("Kind", "ID", "Name", "Fingerprint", "Certificate")
    for status in statuses:
        table.add_row(
            status.kind,
            str(status.row_id),
            status.label,
            status.fingerprint,
            _KEY_STATES[status.state],
        )
    return table


@keys_app.command("certify")
def keys_certify(
    include_invalid: Annotated[
        bool,
        typer.Option(
            help="Also certify keys whose certificate does not verify (after the signing "
            "key was replaced). Such a key may have been swapped: check its fingerprint."
        ),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Certify every key that has no certificate (keys from before certificates), after
    you compare each fingerprint with the one you wrote down. Until a key is certified,
    nothing is sealed for it."""

    async def work(tipline: App) -> None:
        statuses = await tipline.police.key_statuses()
        wanted = {"missing", "invalid"} if include_invalid else {"missing"}
        chosen = [status for status in statuses if status.state in wanted]
        invalid = [s for s in statuses if s.state == "invalid" and "invalid" not in wanted]
        if invalid:
            console.print(_key_table(invalid))
            console.print(
                "[red]These keys carry a certificate that does not verify: the key or its "
                "row was changed in the database, or it was certified by another signing "
                "key. They are not used. Check them; --include-invalid certifies them.[/red]"
            )
        if not chosen:
            console.print("No key to certify.")
            return
        console.print(_key_table(chosen))
        console.print(
            "Compare every fingerprint with the one written down when the key was made. "
            "Certify only keys you recognise."
        )
        if not yes and not typer.confirm(f"Certify these {len(chosen)} key(s)?"):
            raise typer.Exit(1)
        try:
            done = await tipline.police.certify_keys(chosen)
        except NoSigningKey as error:
            raise fail(str(error)) from error
        console.print(f"{done} key(s) certified by the signing key {tipline.verifier.fingerprint}.")
        if done != len(chosen):
            console.print(
                f"[red]{len(chosen) - done} key(s) changed or vanished since they were "
                "listed and were not certified.[/red]"
            )

    run_on_app(work)


# --- queues ----------------------------------------------------------------------------------


@queues_app.command("init")
def queues_init(
    province: Annotated[str, typer.Option(help="Province code or name.")],
    commune: Annotated[
        list[str] | None,
        typer.Option(help="Commune code or name to give its own queue (repeatable)."),
    ] = None,
    all_communes: Annotated[bool, typer.Option(help="A queue for every commune.")] = False,
) -> None:
    """Create the province queue and, optionally, commune queues."""
    from storage import police

    async def work(tipline: App) -> None:
        code = _province_code(tipline, province)
        info = tipline.directory.province(code)
        assert info is not None
        if await tipline.police.recovery_key(code) is None:
            raise fail(f"Create the recovery key first: tipline keys init --province {code}")
        existing = {q.commune_code for q in await tipline.police.queues(code)}
        wanted: list[int | None] = [None]
        if all_communes:
            wanted += [c.code for c in tipline.directory.communes_of(code)]
        for given in commune or []:
            if given.isdigit():
                found = tipline.directory.commune(int(given))
                if found is None or found.province_code != code:
                    raise fail(f"No commune {given} in {info.name}.")
                wanted.append(found.code)
            else:
                matches = tipline.directory.match_commune(code, given, limit=1)
                if not matches:
                    raise fail(f"No commune matches {given!r} in {info.name}.")
                wanted.append(matches[0].commune.code)
        created = 0
        for commune_code in dict.fromkeys(wanted):
            if commune_code in existing:
                continue
            commune_info = tipline.directory.commune(commune_code) if commune_code else None
            name = police.queue_name(info, commune_info)
            try:
                await tipline.police.create_queue(code, commune_code, name)
            except (UntrustedKey, NoSigningKey) as error:
                raise fail(f"Queue {name} was not created: {error}.") from error
            created += 1
        console.print(f"{created} queue(s) created in {info.name}.")

    run_on_app(work)


@queues_app.command("list")
def queues_list(
    province: Annotated[str | None, typer.Option(help="Province code or name.")] = None,
) -> None:
    """List queues with their key's fingerprint and whether its certificate verifies."""

    async def work(tipline: App) -> None:
        code = _province_code(tipline, province) if province else None
        statuses = {s.row_id: s for s in await tipline.police.key_statuses() if s.kind == "queue"}
        table = Table("ID", "Prov.", "Commune")
        table.add_column("Name", no_wrap=True)
        table.add_column("Key fingerprint", no_wrap=True)
        table.add_column("Certified")
        for q in await tipline.police.queues(code):
            status = statuses.get(q.id)
            table.add_row(
                str(q.id),
                str(q.province_code),
                "—" if q.commune_code is None else str(q.commune_code),
                q.name,
                status.fingerprint if status else "?",
                _SHORT_STATES[status.state] if status else "",
            )
        console.print(table)

    run_on_app(work)


# --- officers ---------------------------------------------------------------------------------


@officer_app.command("add")
def officer_add(
    username: Annotated[str, typer.Argument(help="Login name.")],
    name: Annotated[str, typer.Option(help="Display name.")],
    queue: Annotated[list[int] | None, typer.Option(help="Queue ID to join (repeatable).")] = None,
    recovery_key: Annotated[
        Path | None, typer.Option(help="Recovery key file that grants the queues.")
    ] = None,
    granted_by: Annotated[
        str | None, typer.Option(help="An officer of those queues who grants them.")
    ] = None,
) -> None:
    """Add an officer; joining queues needs the recovery key or a member officer."""

    async def work(tipline: App) -> None:
        grants = await _queue_keys(tipline, queue or [], recovery_key, granted_by)
        password = _new_password(f"Password for {username}")
        try:
            officer = await tipline.police.add_officer(username, name, password)
            for queue_id, private in grants.items():
                await tipline.police.grant(queue_id, officer.id, private)
        except (ValueError, UntrustedKey, NoSigningKey) as error:
            raise fail(str(error)) from error
        console.print(f"Officer {username} added to {len(grants)} queue(s).")
        console.print(f"Key fingerprint: {sealing.fingerprint(officer.public_key)}")

    run_on_app(work)


async def _queue_keys(
    tipline: App, queue_ids: list[int], recovery_key: Path | None, granted_by: str | None
) -> dict[int, bytes]:
    if not queue_ids:
        return {}
    queues = {q.id: q for q in await tipline.police.queues()}
    missing = [q for q in queue_ids if q not in queues]
    if missing:
        raise fail(f"Unknown queue(s): {missing}")
    if recovery_key is not None:
        private = _recovery_private(recovery_key)
        try:
            return {q: await tipline.police.queue_key_from_recovery(q, private) for q in queue_ids}
        except sealing.CannotOpen as error:
            raise fail("This recovery key is not the one of those queues.") from error
    if granted_by is not None:
        granter = await _unlock(tipline, granted_by)
        lacking = [q for q in queue_ids if q not in granter.queue_keys]
        if lacking:
            raise fail(f"{granted_by} is not a member of queue(s) {lacking}.")
        return {q: granter.queue_keys[q] for q in queue_ids}
    raise fail("Joining a queue needs --recovery-key FILE or --granted-by OFFICER.")


def _recovery_private(path: Path) -> bytes:
    """The recovery private key from its file, asking the passphrase."""
    passphrase = typer.prompt("Recovery key passphrase", hide_input=True)
    try:
        return sealing.import_recovery_key(path.read_text(), passphrase)
    except (OSError, sealing.SealingError) as error:
        raise fail("That recovery key file or passphrase is wrong.") from error


async def _unlock(tipline: App, username: str) -> UnlockedOfficer:
    password = typer.prompt(f"Password for {username}", hide_input=True)
    try:
        return await tipline.police.unlock(username, password)
    except sealing.WrongPassword as error:
        raise fail("Wrong username or password.") from error


# --- tips -------------------------------------------------------------------------------------


@tips_app.command("list")
def tips_list(
    officer: Annotated[str, typer.Option(help="Your officer username.")],
    status: Annotated[str | None, typer.Option(help="Only this status.")] = None,
) -> None:
    """List the tips of your queues (asks your password)."""

    async def work(tipline: App) -> None:
        unlocked = await _unlock(tipline, officer)
        rows = await tipline.casework.list_tips(unlocked, status)
        table = Table("Tip", "Received", "Category", "Commune", "Status", "Unread")
        for t in rows:
            commune = tipline.directory.commune(t.commune_code) if t.commune_code else None
            table.add_row(
                t.tip_id,
                _local(t.received_at),
                t.category,
                commune.name if commune else "—",
                t.status,
                str(t.unread_for_police),
            )
        console.print(table if rows else "No tips in your queues.")

    run_on_app(work)


@tips_app.command("show")
def tips_show(
    tip_id: Annotated[str, typer.Argument(help="Tip reference, as in `tips list`.")],
    officer: Annotated[str | None, typer.Option(help="Your officer username.")] = None,
    recovery_key: Annotated[
        Path | None, typer.Option(help="Open with the province recovery key instead.")
    ] = None,
    save_photos: Annotated[
        Path | None, typer.Option(help="Directory to save the tip's photos in.")
    ] = None,
) -> None:
    """Decrypt and show one tip (asks your password or the recovery passphrase)."""

    async def work(tipline: App) -> None:
        if recovery_key is not None:
            private = _recovery_private(recovery_key)
            try:
                opened = await tipline.casework.open_with_recovery(tip_id.upper(), private)
            except (sealing.SealingError, LookupError, PermissionError) as error:
                raise fail("That tip cannot be opened with this key.") from error
        elif officer is not None:
            unlocked = await _unlock(tipline, officer)
            try:
                opened = await tipline.casework.open_tip(unlocked, tip_id.upper())
            except PermissionError as error:
                raise fail("No such tip in your queues.") from error
        else:
            raise fail("Give --officer USERNAME or --recovery-key FILE.")
        content = opened.content
        category = tipline.content.category(opened.category)
        commune = tipline.directory.commune(opened.commune_code) if opened.commune_code else None
        province = tipline.directory.province(opened.province_code)
        console.rule(f"Tip {opened.tip_id}")
        console.print(f"Received:  {_local(opened.received_at)}   Status: {opened.status}")
        console.print(f"Category:  {category.label['vi'] if category else opened.category}")
        console.print(
            f"Place:     {commune.name if commune else '(commune not known)'}, "
            f"{province.name if province else opened.province_code}"
        )
        console.print(f"When:      {content.get('when')}")
        console.print(f"Where:     {content.get('where') or '—'}")
        if content.get("location"):
            lat, lon = content["location"]
            console.print(f"Location:  {lat}, {lon}")
        console.print("What happened:")
        for part in content.get("description", []):
            console.print(f"  {part}", markup=False)
        console.print(f"Photos:    {len(opened.photos)}")
        if save_photos is not None and opened.photos:
            save_photos.mkdir(parents=True, exist_ok=True)
            for index, photo in enumerate(opened.photos, 1):
                (save_photos / f"{opened.tip_id}-{index}.jpg").write_bytes(photo)
            console.print(f"Photos saved in {save_photos}.")
        for message in opened.messages:
            who = "Police" if message.author == "police" else "Reporter"
            console.print(f"[{_local(message.created_at)}] {who}: {message.text}", markup=False)

    run_on_app(work)


@tips_app.command("ask")
def tips_ask(
    tip_id: Annotated[str, typer.Argument(help="Tip reference.")],
    question: Annotated[str, typer.Argument(help="Question for the reporter.")],
    officer: Annotated[str, typer.Option(help="Your officer username.")],
) -> None:
    """Ask the reporter a question; they read it with their receipt."""

    async def work(tipline: App) -> None:
        unlocked = await _unlock(tipline, officer)
        try:
            await tipline.casework.ask_reporter(unlocked, tip_id.upper(), question)
        except PermissionError as error:
            raise fail("No such tip in your queues.") from error
        console.print("Question sent. The reporter sees it when they check their receipt.")

    run_on_app(work)


@tokens_app.command("create")
def tokens_create(
    officer: Annotated[str, typer.Option(help="The officer the token acts for.")],
    name: Annotated[str, typer.Option(help="What uses it, e.g. the case system's name.")],
) -> None:
    """Create an API token with the officer's permissions (asks their password)."""
    from storage.accounts import LoginFailed

    async def work(tipline: App) -> None:
        password = typer.prompt(f"Password for {officer}", hide_input=True)
        try:
            unlocked = await tipline.accounts.login(officer, password, _second_factor(officer))
        except LoginFailed as error:
            raise fail("Wrong username, password or code.") from error
        token = await tipline.accounts.create_token(unlocked, name)
        console.print("Token (shown once; store it in the case system's secret store):")
        console.print(token, markup=False)

    run_on_app(work)


def _second_factor(username: str) -> str | None:
    return (
        typer.prompt(
            f"Authenticator code for {username} (empty if none)", default="", show_default=False
        )
        or None
    )


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the audit log's hash chain; exits with 1 when an event was changed or removed."""

    async def work(tipline: App) -> None:
        count, problems = await tipline.audit.verify()
        latest = await tipline.audit.events(limit=1)
        if problems:
            for problem in problems:
                console.print(f"[red]Event {problem.event_id}: {problem.reason}[/red]")
            raise fail(f"The audit log was tampered with ({len(problems)} problem(s)).")
        console.print(f"Audit log intact: {count} events.")
        if latest:
            console.print(
                f"Latest hash: {latest[0].hash} (write it down: a later check that no longer "
                "reaches it shows that events were removed from the end)."
            )

    run_on_app(work)


# --- month-end report ------------------------------------------------------------------------


@app.command("report")
def report(
    month: Annotated[str, typer.Option(help="The month, as YYYY-MM (e.g. 2026-06).")],
    province: Annotated[
        str | None, typer.Option(help="Province code or name (default: every province).")
    ] = None,
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="Write the figures as CSV (small counts hidden).")
    ] = None,
    html_file: Annotated[
        Path | None,
        typer.Option("--html", help="Write a printable HTML page (small counts hidden)."),
    ] = None,
    lang: Annotated[str, typer.Option(help="Language of the labels: vi or en.")] = "vi",
    published: Annotated[
        bool, typer.Option(help="Hide small counts on screen too (as in the files).")
    ] = False,
) -> None:
    """The month-end results report: messages delivered, subscribers, tips per commune and
    category, acknowledgement times, dispositions and outcomes. The screen shows exact
    counts (internal); the CSV and HTML files show counts below 5 as "<5"."""
    from dataclasses import replace

    from bot.console.reporting import report_csv, report_html, report_view
    from handlers.i18n import LOCALES
    from storage.reports import month_report, parse_month

    try:
        year, number = parse_month(month)
    except ValueError as error:
        raise fail(str(error)) from None
    if lang not in LOCALES:
        raise fail(f"--lang must be one of {', '.join(LOCALES)}.")

    async def work(tipline: App) -> None:
        code = _province_code(tipline, province) if province else None
        figures = await month_report(tipline, year, number, code, published=published)
        view = report_view(figures, lang, tipline.directory, tipline.content, charts=False)
        console.print(f"[bold]{view.title}[/bold] — {view.area}")
        if not published:
            console.print("[yellow]Internal figures: exact counts, small ones included.[/yellow]")
        for item in view.tables:
            table = Table(*item.columns, title=item.title, title_justify="left")
            for row in item.rows:
                table.add_row(*row)
            console.print(table)
            if item.note:
                console.print(f"  {item.note}", style="dim", markup=False)
        public = replace(figures, published=True)
        if csv_file is not None:
            text = report_csv(report_view(public, lang, tipline.directory, tipline.content))
            csv_file.write_text(text, encoding="utf-8")
            console.print(f"CSV written to {csv_file} (counts below 5 shown as <5).")
        if html_file is not None:
            page = report_html(report_view(public, lang, tipline.directory, tipline.content), lang)
            html_file.write_text(page, encoding="utf-8")
            console.print(f"Printable page written to {html_file} (counts below 5 shown as <5).")

    run_on_app(work)


# --- telegram -------------------------------------------------------------------------------

telegram_app = typer.Typer(help="The Telegram bot: identity and webhook.", no_args_is_help=True)
app.add_typer(telegram_app, name="telegram")


def _telegram(work: Callable[[Bot, Settings], Awaitable[None]]) -> None:
    """Run ``work(bot, settings)`` with a Bot for TIPLINE_TELEGRAM_TOKEN."""
    from aiogram.exceptions import TelegramAPIError

    from bot.channels.telegram import build_bot

    settings = load_settings()
    if settings.telegram_token is None:
        raise fail("Set TIPLINE_TELEGRAM_TOKEN first (the token from @BotFather).")

    async def main() -> None:
        bot = build_bot(settings)
        try:
            await work(bot, settings)
        except TelegramAPIError as error:
            raise fail(f"Telegram refused: {error}") from error
        finally:
            await bot.session.close()

    asyncio.run(main())


@telegram_app.command("whoami")
def telegram_whoami() -> None:
    """Show which bot the token belongs to (getMe) and where its updates go."""

    async def work(bot: Bot, _: Settings) -> None:
        me = await bot.get_me()
        hook = await bot.get_webhook_info()
        console.print(f"Bot @{me.username} (id {me.id}), {me.first_name}")
        console.print(f"Updates: {'webhook ' + hook.url if hook.url else 'long polling'}")

    _telegram(work)


@telegram_app.command("webhook-set")
def telegram_webhook_set(
    url: Annotated[str | None, typer.Option(help="Default: TIPLINE_TELEGRAM_WEBHOOK_URL.")] = None,
) -> None:
    """Point Telegram at /telegram/webhook with the TIPLINE_TELEGRAM_WEBHOOK_SECRET token."""
    from bot.channels.telegram import ALLOWED_UPDATES

    async def work(bot: Bot, settings: Settings) -> None:
        target = url or settings.telegram_webhook_url
        if not target or settings.telegram_webhook_secret is None:
            raise fail(
                "Give --url (or TIPLINE_TELEGRAM_WEBHOOK_URL) "
                "and set TIPLINE_TELEGRAM_WEBHOOK_SECRET."
            )
        secret = settings.telegram_webhook_secret.get_secret_value()
        await bot.set_webhook(target, secret_token=secret, allowed_updates=ALLOWED_UPDATES)
        console.print(f"Telegram now sends updates to {target}.")

    _telegram(work)


@telegram_app.command("webhook-delete")
def telegram_webhook_delete() -> None:
    """Remove the webhook (pending updates are kept) so the bot can use long polling."""

    async def work(bot: Bot, _: Settings) -> None:
        await bot.delete_webhook(drop_pending_updates=False)
        console.print("Webhook removed; `tipline serve` without a webhook URL uses long polling.")

    _telegram(work)


# --- zalo -----------------------------------------------------------------------------------

zalo_app = typer.Typer(help="The Zalo bot: identity and webhook.", no_args_is_help=True)
app.add_typer(zalo_app, name="zalo")


def _zalo(work: Callable[[ZaloClient, Settings], Awaitable[None]]) -> None:
    """Run ``work(client, settings)`` with a Zalo Bot API client for TIPLINE_ZALO_TOKEN."""
    from bot.channels.zalo import build_client
    from bot.channels.zalo.errors import ZaloError

    settings = load_settings()
    if settings.zalo_token is None:
        raise fail("Set TIPLINE_ZALO_TOKEN first (the token Zalo Bot Creator gave).")

    async def main() -> None:
        client = build_client(settings, attempts=2)
        try:
            await work(client, settings)
        except ZaloError as error:
            raise fail(f"Zalo refused: {error}") from error
        finally:
            await client.close()

    asyncio.run(main())


@zalo_app.command("whoami")
def zalo_whoami() -> None:
    """Show which bot the token belongs to (getMe) and where its updates go."""

    async def work(client: ZaloClient, _: Settings) -> None:
        me = await client.get_me()
        hook = await client.get_webhook_info()
        name = me.get("account_name") or me.get("display_name") or me.get("name") or "?"
        console.print(f"Zalo bot {name} (id {me.get('id', '?')})", markup=False)
        url = hook.get("url")
        console.print(f"Updates: {'webhook ' + url if url else 'long polling'}", markup=False)

    _zalo(work)


@zalo_app.command("webhook-set")
def zalo_webhook_set(
    url: Annotated[str | None, typer.Option(help="Default: TIPLINE_ZALO_WEBHOOK_URL.")] = None,
) -> None:
    """Point Zalo at /zalo/webhook with the TIPLINE_ZALO_WEBHOOK_SECRET token."""

    async def work(client: ZaloClient, settings: Settings) -> None:
        target = url or settings.zalo_webhook_url
        if not target or settings.zalo_webhook_secret is None:
            raise fail(
                "Give --url (or TIPLINE_ZALO_WEBHOOK_URL) and set TIPLINE_ZALO_WEBHOOK_SECRET."
            )
        result = await client.set_webhook(target, settings.zalo_webhook_secret.get_secret_value())
        console.print(f"Zalo now sends updates to {target}.", markup=False)
        check = result.get("verification")
        if isinstance(check, dict):
            state = "reached" if check.get("ok") else "NOT reached"
            console.print(
                f"Zalo's test call: {state} ({check.get('outcome', '?')}). {check.get('hint', '')}",
                markup=False,
            )

    _zalo(work)


@zalo_app.command("webhook-delete")
def zalo_webhook_delete() -> None:
    """Remove the webhook so the bot can use long polling (getUpdates)."""

    async def work(client: ZaloClient, _: Settings) -> None:
        await client.delete_webhook()
        console.print("Webhook removed; `tipline serve` without a webhook URL uses long polling.")

    _zalo(work)


def _local(moment: datetime) -> str:
    from zoneinfo import ZoneInfo

    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%d/%m/%Y %H:%M")


# Loggers that write a line per update or per HTTP request at INFO: each would time a
# reporter's every message (the one that files a tip too) to the millisecond.
CHATTY_LOGGERS = ("aiogram.event", "httpx", "httpcore")


def configure_logging(level: str | int) -> None:
    """The service's logging: ``level`` for Tipline, WARNING for per-update library lines."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def main() -> None:
    configure_logging(load_settings().log_level)
    app()
