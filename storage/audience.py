"""Read-only views for the communicator pages: how many subscribers a message would reach,
and the stored settings of each campaign.

The audience size uses the very conditions materialisation uses
(:func:`storage.deliveries.audience_filter`, active, reads one of the message's
languages) and counts in the database: no subscriber is loaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select

from storage.campaigns import CampaignSpec
from storage.db import Database
from storage.deliveries import audience_filter
from storage.models import Campaign, Subscriber

__all__ = ["audience_size", "campaign_settings"]


async def audience_size(
    db: Database, audience: dict[str, Any], languages: Sequence[str]
) -> dict[str, int]:
    """Active subscribers a message with this audience would reach now, per channel."""
    async with db.sessions() as session:
        rows = await session.execute(
            select(Subscriber.channel, func.count())
            .where(
                Subscriber.active.is_(True),
                Subscriber.locale.in_(list(languages)),
                *audience_filter(audience),
            )
            .group_by(Subscriber.channel)
        )
        return {str(channel): int(count) for channel, count in rows}


async def campaign_settings(db: Database) -> dict[str, CampaignSpec]:
    """Every stored campaign by its id (slug)."""
    async with db.sessions() as session:
        rows = await session.scalars(select(Campaign).order_by(Campaign.slug))
        return {
            c.slug: CampaignSpec(
                slug=c.slug,
                title=dict(c.title),
                theme=dict(c.theme),
                period_start=c.period_start,
                period_end=c.period_end,
                timezone=c.timezone,
                languages=list(c.languages),
                audience_groups=list(c.audience_groups),
            )
            for c in rows
        }
