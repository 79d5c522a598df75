"""The Zalo channel (Zalo Bot API, through httpx): the same conversation, on Zalo.

Modules, outside in:

``channel``   :class:`ZaloChannel`: lifecycle (polling or webhook), events to turns
``webhook``   the ``POST /zalo/webhook`` route (secret-token check, then the channel)
``updates``   what an update means: event kind, chat key, text, picture link
``files``     downloads the picture of an image event, capped at the photo size limit
``outbox``    sends replies in order; tells the user to delete what Zalo bots cannot
``render``    ``Outbound`` to plain texts of ≤ 2000 characters with numbered choices
``recent``    bounded in-memory memories: events already handled, chats already hinted
``client``    the Bot API over ``httpx.AsyncClient``, with bounded retries
``campaign``  the campaign broadcaster's sender for Zalo subscribers
``errors``    the client's exception tree
``privacy``   log redaction for httpx (URLs hold the token or a reporter's picture)

See docs/zalo.md.
"""

from bot.channels.zalo.channel import ZaloChannel, build_client
from bot.channels.zalo.client import ZaloClient

__all__ = ["ZaloChannel", "ZaloClient", "build_client"]
