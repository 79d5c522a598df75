"""The admin pages: a province's console accounts and queues.

Only the ``admin`` role reaches them, and only for their own province (see
:func:`bot.console.nav.home_province`); an account or a queue of another province gets
the same 404 as one that does not exist. Every change goes through
:class:`~storage.admin.ProvinceAdmin`, which writes the audit log in the same
transaction, and every form is CSRF-checked (``Posting``).

Keys decide what can be granted: an admin grants only the queues whose key their session
holds. Sessions of an account that is deactivated or whose two-step login is reset end
at once; a revoked queue's key leaves the account's live sessions at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response

from bot.console.core import (
    ConsoleRoute,
    PageNotFound,
    Posting,
    Refused,
    Working,
    console_of,
    locale_of,
    redirect,
)
from bot.console.labels import roles
from bot.console.nav import ADMIN_ROLES, home_province
from bot.console.sessions import ConsoleSession
from handlers.i18n import translator
from storage.admin import Account, AdminRefused, KeyNotHeld, NotInProvince, ProvinceAdmin
from storage.directory import CommuneInfo
from storage.keyring import NoSigningKey, UntrustedKey
from storage.police import ROLES, queue_name, rotate_queue_key

__all__ = ["MIN_PASSWORD", "USERNAME", "router"]

router = APIRouter(route_class=ConsoleRoute)

QUEUES = "/console/admin/queues"
OFFICERS = "/console/admin/officers"
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,79}$")
MIN_PASSWORD = 10
MAX_PASSWORD = 200
ID = re.compile(r"^[0-9]{1,9}$")


@dataclass(frozen=True, slots=True)
class QueueRow:
    queue_id: int
    name: str
    commune: str
    members: int
    holds_key: bool
    fingerprint: str
    certified: bool


def _admin(request: Request, session: ConsoleSession) -> ProvinceAdmin:
    """The admin's powers over their province; 404 for any other role."""
    officer = session.officer
    if officer.role not in ADMIN_ROLES:
        raise PageNotFound
    province_code = home_province(officer)
    if province_code is None:
        _ = translator(locale_of(request)).gettext
        raise Refused(
            403,
            _(
                "Your account is not attached to a province, so there is nothing to "
                "administer here."
            ),
        )
    app = console_of(request).app
    return ProvinceAdmin(
        app.db, app.settings.kdf(), officer, province_code, app.verifier, app.signer
    )


def _key_refused(request: Request, error: UntrustedKey | NoSigningKey) -> str:
    """What the admin reads when a key cannot be used or made (the log says which key)."""
    _ = translator(locale_of(request)).gettext
    if isinstance(error, NoSigningKey):
        return _(
            "This console has no signing key, so it cannot make new keys. Ask the "
            "technical administrator (see the keys procedure)."
        )
    return _(
        "A key this needs is not certified by the installation's signing key, so it was "
        "not used and nothing was changed. Ask the technical administrator to check the "
        "keys (tipline keys certify)."
    )


def _number(text: str) -> int:
    if not ID.match(text):
        raise PageNotFound
    return int(text)


def _commune_label(request: Request, code: int | None) -> str:
    _ = translator(locale_of(request)).gettext
    if code is None:
        return _("Whole province")
    commune = console_of(request).app.directory.commune(code)
    return f"{commune.name} ({code})" if commune else str(code)


# --- queues ---------------------------------------------------------------------------------


async def _queues_page(
    request: Request,
    session: ConsoleSession,
    admin: ProvinceAdmin,
    *,
    status: int = 200,
    typed: str = "",
    candidates: list[tuple[CommuneInfo, str | None]] | None = None,
) -> Response:
    queues = await admin.queues()
    rows = [
        QueueRow(
            queue_id=q.queue_id,
            name=q.name,
            commune=_commune_label(request, q.commune_code),
            members=q.members,
            holds_key=q.queue_id in session.officer.queue_keys,
            fingerprint=q.fingerprint,
            certified=q.certified,
        )
        for q in queues
    ]
    province = console_of(request).app.directory.province(admin.province_code)
    return console_of(request).page(
        request,
        "admin_queues.html",
        status=status,
        session=session,
        province_name=province.name if province else str(admin.province_code),
        rows=rows,
        typed=typed,
        candidates=candidates,
    )


@router.get("/admin/queues")
async def queues(request: Request, session: Working) -> Response:
    return await _queues_page(request, session, _admin(request, session))


@router.post("/admin/queues")
async def create_queue(
    request: Request,
    session: Posting,
    commune: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """A queue for a commune, chosen by its code or its name."""
    admin = _admin(request, session)
    app = console_of(request).app
    _ = translator(locale_of(request)).gettext
    typed = commune.strip()
    chosen: CommuneInfo | None = None
    if typed.isdigit():
        found = app.directory.commune(int(typed))
        if found is None or found.province_code != admin.province_code:
            session.flash("error", _("No commune of this province has that code."))
            return redirect(QUEUES)
        chosen = found
    elif typed:
        matches = app.directory.match_commune(admin.province_code, typed, limit=8)
        exact = [m for m in matches if m.score >= 0.999 and m.legacy_name is None]
        if len(exact) == 1 and (len(matches) == 1 or matches[1].score < 0.999):
            chosen = exact[0].commune
        elif matches:
            # Several communes fit what was typed: the admin picks one (each is a button).
            return await _queues_page(
                request,
                session,
                admin,
                typed=typed,
                candidates=[(m.commune, m.legacy_name) for m in matches],
            )
    if chosen is None:
        session.flash("error", _("No commune of this province matches what you typed."))
        return redirect(QUEUES)
    province = app.directory.province(admin.province_code)
    assert province is not None  # the commune was found in it
    name = queue_name(province, chosen)
    try:
        await admin.create_queue(chosen.code, name)
    except AdminRefused as refused:
        messages = {
            "queue_exists": _("{commune} already has a queue.").format(commune=chosen.name),
            "no_recovery_key": _(
                "This province has no recovery key yet: create it first (see the keys procedure)."
            ),
        }
        session.flash("error", messages.get(refused.reason, _("The request was refused.")))
        return redirect(QUEUES)
    except (UntrustedKey, NoSigningKey) as error:
        session.flash("error", _key_refused(request, error))
        return redirect(QUEUES)
    session.flash(
        "ok",
        _(
            "The queue {queue} was created and you hold its key. Tips for {commune} will go "
            "to it from now on; add its officers on the accounts page."
        ).format(queue=name, commune=chosen.name),
    )
    return redirect(QUEUES)


@router.post("/admin/queues/{queue_id}/rotate")
async def rotate(request: Request, session: Posting, queue_id: str) -> Response:
    """Give a queue a new key pair; every tip, message and note key is re-wrapped."""
    admin = _admin(request, session)
    app = console_of(request).app
    _ = translator(locale_of(request)).gettext
    number = _number(queue_id)
    queue = next((q for q in await admin.queues() if q.queue_id == number), None)
    if queue is None:
        raise PageNotFound
    try:
        rewrapped = await rotate_queue_key(
            app.db, session.officer, queue.queue_id, app.verifier, app.signer
        )
    except (UntrustedKey, NoSigningKey) as error:
        session.flash("error", _key_refused(request, error))
        return redirect(QUEUES)
    except PermissionError:
        session.flash(
            "error",
            _("You do not hold the key of {queue}, so you cannot change it.").format(
                queue=queue.name
            ),
        )
        return redirect(QUEUES)
    session.flash(
        "ok",
        _(
            "The keys of {queue} were changed: {count} items were re-wrapped. Its members "
            "who are signed in now must sign out and sign in again."
        ).format(queue=queue.name, count=rewrapped),
    )
    return redirect(QUEUES)


# --- accounts -------------------------------------------------------------------------------


def _grantable(session: ConsoleSession, queues: list[Any]) -> list[tuple[int, str]]:
    """Queues of the province whose key the admin's session holds."""
    return [(q.queue_id, q.name) for q in queues if q.queue_id in session.officer.queue_keys]


async def _officers_page(
    request: Request,
    session: ConsoleSession,
    admin: ProvinceAdmin,
    *,
    status: int = 200,
    form: dict[str, Any] | None = None,
    errors: list[str] | None = None,
) -> Response:
    console = console_of(request)
    _ = translator(locale_of(request)).gettext
    accounts = await admin.accounts()
    queues = await admin.queues()
    names = {q.queue_id: q.name for q in queues}
    province = console.app.directory.province(admin.province_code)
    return console.page(
        request,
        "admin_officers.html",
        status=status,
        session=session,
        province_name=province.name if province else str(admin.province_code),
        accounts=accounts,
        queue_names=names,
        role_labels=roles(_),
        grantable=_grantable(session, queues),
        form=form or {"username": "", "display_name": "", "role": "officer", "queues": []},
        errors=errors or [],
        min_password=MIN_PASSWORD,
    )


@router.get("/admin/officers")
async def officers(request: Request, session: Working) -> Response:
    return await _officers_page(request, session, _admin(request, session))


@router.post("/admin/officers")
async def create_officer(
    request: Request,
    session: Posting,
    username: Annotated[str, Form(max_length=200)] = "",
    display_name: Annotated[str, Form(max_length=400)] = "",
    role: Annotated[str, Form(max_length=40)] = "",
    password: Annotated[str, Form(max_length=MAX_PASSWORD * 2)] = "",
    password_again: Annotated[str, Form(max_length=MAX_PASSWORD * 2)] = "",
    queue_ids: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """A new account of the province; the admin types its first password."""
    admin = _admin(request, session)
    _ = translator(locale_of(request)).gettext
    login = username.strip().lower()
    name = " ".join(display_name.split())
    chosen = [int(q) for q in queue_ids or [] if ID.match(q)]
    errors = []
    if not USERNAME.match(login):
        errors.append(
            _(
                "A username has 3 to 80 characters: lowercase letters without accents, "
                "digits, dots, dashes or underscores."
            )
        )
    if not name or len(name) > 200:
        errors.append(_("Write the person's name (up to 200 characters)."))
    if role not in ROLES:
        errors.append(_("Choose a role from the list."))
    if len(password) < MIN_PASSWORD or len(password) > MAX_PASSWORD:
        errors.append(
            _("The password needs {low} to {high} characters.").format(
                low=MIN_PASSWORD, high=MAX_PASSWORD
            )
        )
    elif password != password_again:
        errors.append(_("The two passwords are not the same."))
    grantable = {queue_id for queue_id, _name in _grantable(session, await admin.queues())}
    if len(chosen) != len(queue_ids or []) or not set(chosen) <= grantable:
        errors.append(_("You can only grant the queues whose key you hold."))
    officer_id = None
    if not errors:
        try:
            officer_id = await admin.create_account(login, name, role, password, chosen)
        except AdminRefused as refused:
            errors.append(
                _("This username is already taken.")
                if refused.reason == "username_taken"
                else _("The request was refused.")
            )
        except (KeyNotHeld, NotInProvince):
            errors.append(_("You can only grant the queues whose key you hold."))
        except (UntrustedKey, NoSigningKey) as error:
            errors.append(_key_refused(request, error))
    if officer_id is None:
        form = {"username": login, "display_name": name, "role": role, "queues": chosen}
        return await _officers_page(request, session, admin, status=400, form=form, errors=errors)
    session.flash(
        "ok",
        _(
            "The account {username} was created. Give its password to its owner in person; "
            "they set up the two-step login at their first sign-in."
        ).format(username=login),
    )
    return redirect(f"{OFFICERS}/{officer_id}")


async def _account(request: Request, admin: ProvinceAdmin, officer_id: str) -> Account:
    try:
        return await admin.account(_number(officer_id))
    except NotInProvince:
        raise PageNotFound from None


@router.get("/admin/officers/{officer_id}")
async def officer(request: Request, session: Working, officer_id: str) -> Response:
    admin = _admin(request, session)
    console = console_of(request)
    _ = translator(locale_of(request)).gettext
    account = await _account(request, admin, officer_id)
    queues = await admin.queues()
    return console.page(
        request,
        "admin_officer.html",
        session=session,
        account=account,
        role_label=roles(_).get(account.role, account.role),
        memberships=[(q.queue_id, q.name) for q in queues if q.queue_id in account.queue_ids],
        grantable=[
            (queue_id, name)
            for queue_id, name in _grantable(session, queues)
            if queue_id not in account.queue_ids
        ],
        itself=account.officer_id == session.officer.officer_id,
        signed_in=len(console.sessions.of_officer(account.officer_id)),
    )


def _queue_choice(queue_id: str) -> int | None:
    return int(queue_id) if ID.match(queue_id) else None


@router.post("/admin/officers/{officer_id}/grant")
async def grant(
    request: Request,
    session: Posting,
    officer_id: str,
    queue_id: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    admin = _admin(request, session)
    _ = translator(locale_of(request)).gettext
    account = await _account(request, admin, officer_id)
    here = f"{OFFICERS}/{account.officer_id}"
    chosen = _queue_choice(queue_id)
    try:
        if chosen is None:
            raise NotInProvince("no queue chosen")
        added = await admin.grant(account.officer_id, chosen)
    except NotInProvince:
        session.flash("error", _("Choose a queue from the list."))
        return redirect(here)
    except KeyNotHeld:
        session.flash("error", _("You can only grant the queues whose key you hold."))
        return redirect(here)
    except UntrustedKey as error:
        session.flash("error", _key_refused(request, error))
        return redirect(here)
    session.flash(
        "ok",
        _("Queue added. It opens at {username}'s next sign-in.").format(username=account.username)
        if added
        else _("{username} was already a member of this queue.").format(username=account.username),
    )
    return redirect(here)


@router.post("/admin/officers/{officer_id}/revoke")
async def revoke(
    request: Request,
    session: Posting,
    officer_id: str,
    queue_id: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    admin = _admin(request, session)
    console = console_of(request)
    _ = translator(locale_of(request)).gettext
    account = await _account(request, admin, officer_id)
    here = f"{OFFICERS}/{account.officer_id}"
    chosen = _queue_choice(queue_id)
    try:
        if chosen is None:
            raise NotInProvince("no queue chosen")
        removed = await admin.revoke(account.officer_id, chosen)
    except NotInProvince:
        session.flash("error", _("Choose a queue from the list."))
        return redirect(here)
    # The key leaves the account's live sessions too: access ends now, not at sign-out.
    for live in console.sessions.of_officer(account.officer_id):
        live.officer.queue_keys.pop(chosen, None)
        for province, province_queue in list(live.officer.province_queues.items()):
            if province_queue == chosen:
                del live.officer.province_queues[province]
    session.flash(
        "ok",
        _("{username} is no longer a member of this queue.").format(username=account.username)
        if removed
        else _("{username} was not a member of this queue.").format(username=account.username),
    )
    return redirect(here)


async def _end_sessions(request: Request, officer_id: int) -> int:
    """Sign an account out everywhere now (its keys leave this process's memory)."""
    console = console_of(request)
    ended = console.sessions.end_officer(officer_id)
    for live in ended:
        await console.app.accounts.logout(live.officer, "session_ended")
    return len(ended)


@router.post("/admin/officers/{officer_id}/deactivate")
async def deactivate(request: Request, session: Posting, officer_id: str) -> Response:
    admin = _admin(request, session)
    _ = translator(locale_of(request)).gettext
    account = await _account(request, admin, officer_id)
    here = f"{OFFICERS}/{account.officer_id}"
    try:
        await admin.set_active(account.officer_id, False)
    except AdminRefused:
        session.flash("error", _("You cannot deactivate your own account."))
        return redirect(here)
    await _end_sessions(request, account.officer_id)
    session.flash(
        "ok",
        _("{username} can no longer sign in; their open sessions were ended.").format(
            username=account.username
        ),
    )
    return redirect(here)


@router.post("/admin/officers/{officer_id}/reactivate")
async def reactivate(request: Request, session: Posting, officer_id: str) -> Response:
    admin = _admin(request, session)
    _ = translator(locale_of(request)).gettext
    account = await _account(request, admin, officer_id)
    await admin.set_active(account.officer_id, True)
    session.flash("ok", _("{username} can sign in again.").format(username=account.username))
    return redirect(f"{OFFICERS}/{account.officer_id}")


@router.post("/admin/officers/{officer_id}/reset-totp")
async def reset_totp(request: Request, session: Posting, officer_id: str) -> Response:
    admin = _admin(request, session)
    _ = translator(locale_of(request)).gettext
    account = await _account(request, admin, officer_id)
    here = f"{OFFICERS}/{account.officer_id}"
    try:
        await admin.reset_totp(account.officer_id)
    except AdminRefused:
        session.flash("error", _("You cannot reset your own two-step login."))
        return redirect(here)
    await _end_sessions(request, account.officer_id)
    session.flash(
        "ok",
        _(
            "The two-step login of {username} was reset: they set it up again, with a new "
            "authenticator and new recovery codes, at their next sign-in."
        ).format(username=account.username),
    )
    return redirect(here)


@router.post("/admin/officers/{officer_id}/unlock")
async def unlock(request: Request, session: Posting, officer_id: str) -> Response:
    admin = _admin(request, session)
    _ = translator(locale_of(request)).gettext
    account = await _account(request, admin, officer_id)
    unlocked = await admin.unlock(account.officer_id)
    session.flash(
        "ok",
        _("{username} can try to sign in again now.").format(username=account.username)
        if unlocked
        else _("{username} was not locked.").format(username=account.username),
    )
    return redirect(f"{OFFICERS}/{account.officer_id}")
