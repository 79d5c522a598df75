"""The broadcaster: drains pending deliveries through each channel's :class:`Sender`.

Per channel, workers repeat one round: take tokens from the channel's bucket, claim that
many due deliveries (``sending``), send them concurrently, record the outcomes in one
transaction. What happens to a delivery:

========================  ===================================================================
platform answer           delivery
========================  ===================================================================
ok                        ``sent``
429 ``retry_after``       pending again after ``retry_after``; the whole channel pauses as
                          long (no attempt counted)
403 / chat gone           ``blocked``; the subscriber becomes inactive
5xx, network error        pending again after ``backoff × 2^(attempt-1)``; ``failed`` after
                          ``max_attempts``
other 4xx                 ``failed`` (retrying cannot help)
subscriber stopped/gone   ``skipped``
========================  ===================================================================

Quiet hours: during 21:00-07:00 (the campaign clock) deliveries of subscribers who keep
them are pushed to 07:00 before claiming. Pause, resume and cancel act on the message's
state, which claiming checks.

Crash safety: a worker killed mid-round leaves its claimed rows in ``sending``. They may or
may not have reached Telegram, which offers no way to ask. Once older than the lease,
:meth:`DeliveryStore.resolve_stale` resolves them: by default (``resend_in_flight``) they are
sent again and counted as ``resent``, so nobody misses the message and at most those few may
get it twice; otherwise they become ``uncertain`` and are never resent, so nobody gets it
twice and at most those few miss it. Everything else is either recorded ``sent`` or still
``pending``, so a restart sends each remaining subscriber the message exactly once. A round
claims only as many rows as it may send at once, which keeps the in-flight set small. A
timeout or network error observed by a live worker is different: it is retried, so in rare
cases such a message arrives twice (the same trade-off the conversation's own retries make).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.campaigns.limits import ChatPacer, TokenBucket
from bot.campaigns.sending import Sender, SendOutcome
from bot.campaigns.service import Clock, system_clock
from bot.campaigns.timing import in_quiet_hours, quiet_hours_end
from bot.metrics import Metrics
from storage.campaigns import CampaignStore, MessageRow
from storage.deliveries import Claimed, DeliveryStore, Outcome
from storage.sealing import SealingError
from storage.subscriptions import AddressBook

__all__ = ["Broadcaster", "ChannelLimits", "RetryPolicy"]

log = logging.getLogger(__name__)

MESSAGE_CACHE_SECONDS = 30.0
QUIET_CHECK_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class ChannelLimits:
    """A platform's limits: messages a second per bot (None: none), the burst a bucket
    saves up (default a fifth of a second's worth), seconds between two messages to one
    chat (None: none)."""

    per_second: float | None = 25.0
    burst: float | None = None
    chat_interval: float | None = 1.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 5
    backoff: timedelta = timedelta(seconds=30)
    max_backoff: timedelta = timedelta(hours=1)

    def delay(self, attempt: int) -> timedelta:
        """The wait after failed attempt number ``attempt`` (1, 2, ...)."""
        factor: int = 2 ** max(0, attempt - 1)
        return min(self.backoff * factor, self.max_backoff)


class _Channel:
    def __init__(self, sender: Sender, limits: ChannelLimits) -> None:
        self.sender = sender
        self.bucket = TokenBucket(limits.per_second, limits.burst)
        self.pacer = ChatPacer(limits.chat_interval)
        self.wake = asyncio.Event()


class Broadcaster:
    """Sends what the scheduler materialised, within each platform's limits."""

    def __init__(
        self,
        campaigns: CampaignStore,
        deliveries: DeliveryStore,
        addresses: AddressBook,
        senders: Mapping[str, Sender],
        *,
        limits: Mapping[str, ChannelLimits] | None = None,
        retry: RetryPolicy | None = None,
        timezone: str = "Asia/Ho_Chi_Minh",
        workers: int = 1,
        batch: int = 100,
        poll_seconds: float = 1.0,
        lease: timedelta = timedelta(seconds=120),
        resend_in_flight: bool = True,
        metrics: Metrics | None = None,
        clock: Clock = system_clock,
    ) -> None:
        self.campaigns = campaigns
        self.deliveries = deliveries
        self.addresses = addresses
        self.channels = {
            name: _Channel(sender, (limits or {}).get(name, ChannelLimits()))
            for name, sender in senders.items()
        }
        self.retry = retry or RetryPolicy()
        self.zone = ZoneInfo(timezone)
        self.workers = max(1, workers)
        self.batch = max(1, batch)
        self.poll_seconds = poll_seconds
        self.lease = lease
        self.resend_in_flight = resend_in_flight
        self.metrics = metrics
        self.clock = clock
        self.instance = secrets.token_hex(6)
        self._messages: dict[int, tuple[float, MessageRow]] = {}
        self._held: dict[tuple[int, int, str], float] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._stopped = asyncio.Event()

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Resolve what dead workers left in flight, then start the workers."""
        await self.sweep()
        self._stopping = False
        self._stopped.clear()
        for name in self.channels:
            for index in range(self.workers):
                worker = f"{self.instance}-{name[:2]}{index}"
                self._tasks.append(asyncio.create_task(self._work(name, worker)))
        self._tasks.append(asyncio.create_task(self._sweeper()))
        log.info(
            "broadcaster started: %s, %d worker(s) per channel",
            ", ".join(self.channels) or "no channel",
            self.workers,
        )

    async def stop(self) -> None:
        """Let each worker finish its round (nothing is left in flight), then stop."""
        self._stopping = True
        self._stopped.set()
        self.wake()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=30)
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._tasks = []
        log.info("broadcaster stopped")

    def wake(self) -> None:
        """New deliveries may be waiting: workers look now instead of at their next poll."""
        for channel in self.channels.values():
            channel.wake.set()

    async def sweep(self) -> int:
        """Resolve rows left ``sending`` longer than the lease; close finished messages."""
        now = self.clock()
        stale = await self.deliveries.resolve_stale(now - self.lease, resend=self.resend_in_flight)
        if stale:
            log.warning(
                "%d deliveries were in flight when a worker stopped; %s",
                stale,
                "sending them again" if self.resend_in_flight else "marked uncertain, not resent",
            )
            if self.resend_in_flight:
                self.wake()
        await self.campaigns.finish(now)
        return stale

    async def _sweeper(self) -> None:
        interval = max(1.0, self.lease.total_seconds() / 2)
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopped.wait(), interval)
            if self._stopping:
                return
            try:
                await self.sweep()
            except Exception as error:
                log.error("broadcaster sweep failed: %s", type(error).__name__)

    # --- the work ---------------------------------------------------------------------------

    async def _work(self, name: str, worker: str) -> None:
        channel = self.channels[name]
        while not self._stopping:
            try:
                sent = await self.round(name, worker)
            except Exception as error:
                log.error("broadcaster %s round failed: %s", name, type(error).__name__)
                sent = 0
            if sent == 0 and not self._stopping:
                channel.wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(channel.wake.wait(), self.poll_seconds)

    async def round(self, name: str, worker: str | None = None) -> int:
        """Send what is due on channel ``name`` now, run by run; how many were handled."""
        worker = worker or f"{self.instance}-{name[:2]}0"
        channel = self.channels[name]
        runs = await self.campaigns.sending()
        handled = 0
        for run in runs:
            while not self._stopping:
                tokens = await channel.bucket.take(self.batch)
                now = self.clock()
                quiet = in_quiet_hours(now, self.zone)
                if quiet and self._hold_due(run, name):
                    until = quiet_hours_end(now, self.zone)
                    await self.deliveries.hold_quiet(run, name, now, until)
                claimed = await self.deliveries.claim(
                    run, name, tokens, now, worker, quiet_now=quiet
                )
                channel.bucket.give_back(tokens - len(claimed))
                if not claimed:
                    break
                outcomes = await asyncio.gather(*(self._deliver(channel, c) for c in claimed))
                await self.deliveries.record(outcomes, self.clock(), worker)
                if self.metrics is not None:
                    for outcome in outcomes:
                        # A 429 is the only retry that is not counted as an attempt.
                        rate_limited = outcome.status == "retry" and not outcome.attempted
                        self.metrics.delivery(name, outcome.status, rate_limited=rate_limited)
                handled += len(claimed)
                if len(claimed) < tokens:
                    break
        if handled:
            for message_id in await self.campaigns.finish(self.clock()):
                log.info("campaign message %d: every delivery is resolved", message_id)
        return handled

    def _hold_due(self, run: tuple[int, int], name: str) -> bool:
        """Whether to move quiet subscribers' deliveries again (at most every 30 s a run)."""
        key = (*run, name)
        last = self._held.get(key)
        if last is not None and time.monotonic() - last < QUIET_CHECK_SECONDS:
            return False
        self._held[key] = time.monotonic()
        return True

    async def drain(self, name: str | None = None) -> int:
        """Rounds until nothing more is due now (tests and benchmarks); how many handled."""
        total = 0
        for channel in [name] if name else list(self.channels):
            while handled := await self.round(channel):
                total += handled
        await self.campaigns.finish(self.clock())
        return total

    async def _message(self, message_id: int) -> MessageRow | None:
        cached = self._messages.get(message_id)
        if cached is not None and time.monotonic() - cached[0] < MESSAGE_CACHE_SECONDS:
            return cached[1]
        message = await self.campaigns.message(message_id)
        if message is not None:
            self._messages[message_id] = (time.monotonic(), message)
        return message

    async def _deliver(self, channel: _Channel, claimed: Claimed) -> Outcome:
        def final(status: str, error: str | None = None, *, attempted: bool = True) -> Outcome:
            return Outcome(claimed.id, status, claimed.subscriber_id, error, None, attempted)

        if not claimed.active or claimed.address is None or claimed.lookup is None:
            return final("skipped", "unsubscribed", attempted=False)
        message = await self._message(claimed.message_id)
        body = None
        if message is not None:
            body = message.bodies.get(claimed.locale or "") or message.bodies.get("vi")
        if body is None:
            return final("skipped", "no text in the language", attempted=False)
        try:
            address = self.addresses.open(claimed.address, claimed.lookup)
        except SealingError:
            log.error("a subscriber address cannot be opened (wrong subscriber key?)")
            return final("failed", "address unreadable")
        parts = channel.sender.parts(body)
        for index, part in enumerate(parts):
            if index > 0:
                await channel.bucket.take(1)
            assert claimed.subscriber_id is not None
            await channel.pacer.wait(claimed.subscriber_id)
            try:
                result = await channel.sender.send(address, part)
            except Exception as error:  # a sender must answer, but never lose the row
                log.error("sender %s raised %s", channel.sender.channel, type(error).__name__)
                result = SendOutcome("transient", type(error).__name__[:40])
            if result.kind == "sent":
                continue
            if index > 0:
                # The first parts arrived: sending again would repeat them.
                return final("failed", f"part {index + 1} of {len(parts)}: {result.code}"[:40])
            return self._outcome(channel, claimed, result)
        return final("sent")

    def _outcome(self, channel: _Channel, claimed: Claimed, result: SendOutcome) -> Outcome:
        now = self.clock()
        code = (result.code or result.kind)[:40]
        if result.kind == "retry_after":
            wait = max(1.0, result.retry_after)
            channel.bucket.pause(wait)
            log.warning("%s: rate limited, pausing %.0f s", channel.sender.channel, wait)
            return Outcome(
                claimed.id,
                "retry",
                claimed.subscriber_id,
                code,
                now + timedelta(seconds=wait),
                attempted=False,
            )
        if result.kind == "blocked":
            return Outcome(claimed.id, "blocked", claimed.subscriber_id, code)
        if result.kind == "transient":
            attempt = claimed.attempts + 1
            if attempt >= self.retry.max_attempts:
                return Outcome(claimed.id, "failed", claimed.subscriber_id, code)
            return Outcome(
                claimed.id,
                "retry",
                claimed.subscriber_id,
                code,
                now + self.retry.delay(attempt),
            )
        return Outcome(claimed.id, "failed", claimed.subscriber_id, code)
