"""The command menu Telegram shows next to the text box, in Vietnamese and English.

The commands themselves are handled by the conversation (``handlers.conversation.COMMANDS``);
this only describes them. Vietnamese is also the default for every other language.
"""

from __future__ import annotations

from collections.abc import Callable

from aiogram import Bot
from aiogram.types import BotCommand, BotCommandScopeDefault

from handlers.conversation import COMMANDS
from handlers.i18n import translator

__all__ = ["MENU", "command_menu", "set_commands"]

MENU = ("start", "tobao", "kiemtra", "xoa", "dangky", "stop", "huy", "help")


def command_menu(_: Callable[[str], str]) -> list[BotCommand]:
    """The commands with descriptions in the language of ``_``."""
    descriptions = {
        "start": _("Start over: language and main menu"),
        "tobao": _("Send an anonymous tip"),
        "kiemtra": _("Check a tip with your receipt"),
        "xoa": _("Delete this conversation"),
        "dangky": _("Subscribe to awareness messages"),
        "stop": _("Stop awareness messages"),
        "huy": _("Cancel what you are doing"),
        "help": _("Help"),
    }
    assert all(f"/{name}" in COMMANDS for name in MENU), "menu lists an unknown command"
    return [BotCommand(command=name, description=descriptions[name]) for name in MENU]


async def set_commands(bot: Bot) -> None:
    """Register the menu: Vietnamese by default and for ``vi``, English for ``en``."""
    vietnamese = command_menu(translator("vi").gettext)
    scope = BotCommandScopeDefault()
    await bot.set_my_commands(vietnamese, scope=scope)
    await bot.set_my_commands(vietnamese, scope=scope, language_code="vi")
    await bot.set_my_commands(
        command_menu(translator("en").gettext), scope=scope, language_code="en"
    )
