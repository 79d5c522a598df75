"""Campaign messages to Zalo subscribers: the Zalo sender against the fake Zalo Bot API, its
answers to the broadcaster (429, 403, 5xx, network) and a whole delivery run."""

from __future__ import annotations

import socket
import time
from pathlib import Path

from pydantic import SecretStr

from bot.bootstrap import App
from bot.campaigns.broadcaster import Broadcaster, ChannelLimits
from bot.campaigns.schema import load_campaign_file
from bot.campaigns.sending import SendOutcome
from bot.channels.zalo import ZaloClient
from bot.channels.zalo.campaign import DEFAULT_RETRY_AFTER, ZaloSender, zalo_sender
from bot.config import Settings
from storage.subscriptions import Subscription
from tests.channels.conftest import ZaloServed
from tests.channels.zalo_user import ZaloUser
from tests.conftest import HANOI
from tests.fakes.zalo_api import FakeZalo

CAMPAIGNS = Path(__file__).resolve().parents[2] / "content" / "campaigns"


def sender_for(fake: FakeZalo, rate: float | None = None) -> ZaloSender:
    return ZaloSender(ZaloClient(fake.token, fake.base_url, attempts=1), rate_per_second=rate)


async def test_a_body_is_plain_text_split_at_2000() -> None:
    sender = ZaloSender(ZaloClient("1:x", "http://127.0.0.1:9"))
    try:
        [short] = sender.parts("**Tháng hành động** bắt đầu.\n\n- Gõ /tobao")
        assert short == "Tháng hành động bắt đầu.\n\n- Gõ /tobao"
        long = sender.parts("\n\n".join(["Một đoạn văn về phòng, chống ma túy. " * 30] * 4))
        assert len(long) >= 2 and all(len(part) <= 2000 for part in long)
    finally:
        await sender.close()


async def test_the_answers_of_zalo_become_outcomes(zalo_fake: FakeZalo) -> None:
    fake = zalo_fake
    chat = fake.user()
    sender = sender_for(fake)
    try:
        assert await sender.send(f"zalo:{chat}", "Xin chào") == SendOutcome("sent")
        assert fake.texts(chat) == ["Xin chào"]

        fake.fail("sendMessage", 429, retry_after=7)
        assert await sender.send(f"zalo:{chat}", "x") == SendOutcome("retry_after", "429", 7.0)
        fake.fail("sendMessage", 429, retry_after=None)
        limited = await sender.send(f"zalo:{chat}", "x")
        assert (limited.kind, limited.retry_after) == ("retry_after", DEFAULT_RETRY_AFTER)

        fake.fail("sendMessage", 403)
        assert (await sender.send(f"zalo:{chat}", "x")).kind == "blocked"
        fake.fail("sendMessage", 502)
        assert (await sender.send(f"zalo:{chat}", "x")).kind == "transient"
        assert (await sender.send("zalo:unknown-chat", "x")).kind == "rejected"  # 400
        assert (await sender.send("tg:12345", "x")).kind == "rejected"
        assert len(fake.texts(chat)) == 1  # nothing was sent twice
    finally:
        await sender.close()


async def test_an_unreachable_api_is_transient() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sender = ZaloSender(ZaloClient("1:x", f"http://127.0.0.1:{port}", attempts=1))
    try:
        assert await sender.send("zalo:abc", "x") == SendOutcome("transient", "network")
    finally:
        await sender.close()


async def test_the_sender_keeps_its_own_rate(zalo_fake: FakeZalo) -> None:
    chat = zalo_fake.user()
    sender = sender_for(zalo_fake, rate=10)
    try:
        started = time.monotonic()
        for number in range(5):
            assert (await sender.send(f"zalo:{chat}", f"{number}")).kind == "sent"
        assert time.monotonic() - started >= 0.35  # 5 messages at 10 a second, burst 1
    finally:
        await sender.close()


async def test_a_campaign_message_reaches_zalo_subscribers_once(
    app: App, zalo_fake: FakeZalo, settings: Settings
) -> None:
    fake = zalo_fake
    readers, blocked = [fake.user() for _ in range(3)], fake.user()
    for chat in [*readers, blocked]:
        await app.subscriptions.save(
            f"zalo:{chat}",
            Subscription(HANOI, None, "general", "vi", quiet_hours=False),
        )
    await app.campaigns.load(load_campaign_file(CAMPAIGNS / "june-action-month.yaml"))
    [launch] = [m for m in await app.campaigns.messages() if m.ref.endswith("launch")]
    await app.campaigns.send_now(launch.id)
    fake.fail("sendMessage", 403, chat_id=blocked, times=5)

    configured = settings.model_copy(
        update={"zalo_token": SecretStr(fake.token), "zalo_api_base": fake.base_url}
    )
    sender = zalo_sender(configured)
    broadcaster = Broadcaster(
        app.campaigns.campaigns,
        app.campaigns.deliveries,
        app.subscriptions.addresses,
        {"zalo": sender},
        limits={"zalo": ChannelLimits(per_second=None, chat_interval=None)},
        clock=app.campaigns.clock,
    )
    try:
        assert await broadcaster.drain("zalo") == 4
        assert await broadcaster.drain("zalo") == 0  # nothing twice
    finally:
        await sender.close()
    for chat in readers:
        [text] = fake.texts(chat)
        assert text.startswith("Hôm nay bắt đầu Tháng hành động") and "**" not in text
    assert fake.texts(blocked) == []
    assert await app.subscriptions.count(active=True) == 3  # the blocked one is inactive


async def test_a_zalo_user_subscribes_by_typing_and_gets_the_campaign(
    zalo_served: ZaloServed,
) -> None:
    fake, app = zalo_served.fake, zalo_served.app
    user = ZaloUser(fake)
    await user.talk(
        [
            ("xin chao", "Chọn ngôn ngữ"),
            ("tieng viet", "Bạn muốn làm gì?"),
            ("/dangky", "tỉnh, thành phố nào"),
            ("ha noi", "xã, phường nào"),
            ("ca tinh", "nhóm nào"),
            ("nguoi dan", "ngôn ngữ nào"),
            ("tieng viet", "Giờ yên tĩnh"),
            ("khong", "kiểm tra thông tin đăng ký"),
            ("dang ky", "Bạn đã đăng ký"),
        ]
    )
    subscription = await app.subscriptions.get(f"zalo:{user.id}")
    assert subscription is not None and subscription.group == "general"
    await app.campaigns.load(load_campaign_file(CAMPAIGNS / "june-action-month.yaml"))
    [launch] = [m for m in await app.campaigns.messages() if m.ref.endswith("launch")]
    await app.campaigns.send_now(launch.id)
    sender = sender_for(fake)
    broadcaster = Broadcaster(
        app.campaigns.campaigns,
        app.campaigns.deliveries,
        app.subscriptions.addresses,
        {"zalo": sender},
        limits={"zalo": ChannelLimits(per_second=None, chat_interval=None)},
        clock=app.campaigns.clock,
    )
    try:
        assert await broadcaster.drain("zalo") == 1
    finally:
        await sender.close()
    assert fake.texts(user.id)[-1].startswith("Hôm nay bắt đầu Tháng hành động")
