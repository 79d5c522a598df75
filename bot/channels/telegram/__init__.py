"""The Telegram channel (aiogram 3): the same conversation as the web chat, on Telegram.

Modules, outside in:

``channel``   :class:`TelegramChannel`: lifecycle (polling or webhook), updates to turns
``webhook``   the ``POST /telegram/webhook`` route (secret-token check, then the channel)
``inbound``   what an update means: chat key, language hint, photo/document, location
``files``     downloads through ``getFile``, capped at the photo size limit
``outbox``    sends replies, tracks message ids in memory, the wipe (deleteMessages)
``render``    ``Outbound`` to escaped HTML parts of ≤ 4096 characters and inline keyboards
``history``   the in-memory, bounded log of message ids per private chat
``retry``     429 / 5xx / network retries as an aiogram session middleware
``commands``  the command menu (setMyCommands) in Vietnamese and English
``privacy``   log redaction for aiogram's own loggers

See docs/telegram.md.
"""

from bot.channels.telegram.channel import ALLOWED_UPDATES, TelegramChannel, build_bot

__all__ = ["ALLOWED_UPDATES", "TelegramChannel", "build_bot"]
