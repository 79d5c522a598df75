"""The month-end results report: figures from seeded subscribers, deliveries and tips;
small counts hidden in published outputs (CSV, HTML, ``published=True``); the CLI."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select, update
from typer.testing import CliRunner

from bot.bootstrap import App, bootstrap
from bot.cli import app as cli
from bot.config import Settings
from bot.console.reporting import report_csv, report_html, report_view
from storage.models import Delivery, Subscriber, Tip
from storage.reports import month_bounds, month_report, parse_month
from storage.sealing import FAST_TEST_KDF
from storage.subscriptions import Subscription
from storage.vault import TipDraft
from tests.campaigns.helpers import Clock, campaign, message, service, vn
from tests.conftest import BA_DINH, HANOI, HOAN_KIEM, setup_hanoi

HCMC = 79


async def file_tip(app: App, category: str, commune: int | None, **facts: Any) -> str:
    """A tip filed as a reporter would, then given the routing facts of the test."""
    async with app.db.sessions() as session:
        before = set(await session.scalars(select(Tip.id)))
    await app.vault.submit(
        TipDraft(
            category=category,
            province_code=HANOI,
            commune_code=commune,
            when="today",
            where="Đầu ngõ",
            description=["Có người bán hàng"],
            locale="vi",
        )
    )
    async with app.db.sessions.begin() as session:
        [tip_id] = set(await session.scalars(select(Tip.id))) - before
        await session.execute(update(Tip).where(Tip.id == tip_id).values(**facts))
    return tip_id


async def seed(app: App) -> dict[str, int]:
    """June 2026 in Hà Nội: subscribers, a loaded campaign with deliveries, tips."""
    clock = Clock(vn(2026, 5, 1, 9))
    campaigns = service(app, clock)
    await campaigns.load(
        campaign(
            message("launch", yearly="06-01 08:00"),
            message("ba-dinh", yearly="06-10 08:00", areas=[{"province": 1, "communes": [4]}]),
        )
    )
    ids = {m.key: m.id for m in await campaigns.messages()}
    # Subscribers: 7 new on Telegram in June (Ba Đình), 2 on Zalo; 1 stopped in June.
    for number in range(7):
        await app.subscriptions.save(
            f"tg:{100 + number}", Subscription(HANOI, BA_DINH, "students", "vi")
        )
    for number in range(2):
        await app.subscriptions.save(
            f"zalo:{200 + number}", Subscription(HANOI, None, "parents", "vi")
        )
    await app.subscriptions.save("tg:300", Subscription(HCMC, None, "general", "vi"))
    await app.subscriptions.stop("tg:100")
    async with app.db.sessions.begin() as session:
        await session.execute(update(Subscriber).values(created_at=date(2026, 6, 3)))
        await session.execute(
            update(Subscriber)
            .where(Subscriber.active.is_(False))
            .values(deactivated_at=date(2026, 6, 20))
        )
        subscribers = {
            row.channel + str(row.province_code): row
            for row in await session.scalars(select(Subscriber))
        }
        assert subscribers
        rows = []
        sent_at = vn(2026, 6, 1, 8, 5)

        def delivery(
            key: str, channel: str, group: str, province: int, status: str = "sent"
        ) -> None:
            rows.append(
                {
                    "campaign_message_id": ids[key],
                    "occurrence": 2026,
                    "subscriber_id": None,
                    "channel": channel,
                    "province_code": province,
                    "audience_group": group,
                    "status": status,
                    "attempts": 1,
                    "next_attempt_at": sent_at,
                    "sent_at": sent_at if status == "sent" else None,
                }
            )

        for _ in range(12):
            delivery("launch", "telegram", "students", HANOI)
        for _ in range(3):
            delivery("launch", "zalo", "parents", HANOI)
        delivery("launch", "telegram", "general", HCMC)
        delivery("launch", "telegram", "students", HANOI, "blocked")
        for _ in range(6):
            delivery("ba-dinh", "telegram", "students", HANOI)
        # July: not in June's figures.
        rows.append({**rows[0], "sent_at": vn(2026, 7, 1, 8), "occurrence": 2027})
        for row in rows:
            await session.execute(insert(Delivery).values(**row))
    # Tips: 6 trading in Ba Đình (acknowledged after 1..6 hours), 2 hotspot in Hoàn Kiếm
    # (one never acknowledged: overdue), 1 with no commune; one in May (not counted).
    june = vn(2026, 6, 5, 10)
    for hours in range(1, 7):
        await file_tip(
            app,
            "trading",
            BA_DINH,
            received_at=june,
            acknowledged_at=june + timedelta(hours=hours),
            status="closed" if hours <= 2 else "in_review",
            disposition="confirmed" if hours <= 2 else None,
            outcome={"arrests": 2, "seizures_grams": 7.5} if hours <= 2 else None,
        )
    await file_tip(
        app,
        "hotspot",
        HOAN_KIEM,
        received_at=june,
        acknowledged_at=june + timedelta(hours=30),
        status="closed",
        disposition="unfounded",
    )
    await file_tip(app, "hotspot", HOAN_KIEM, received_at=june)
    await file_tip(app, "other", None, received_at=june, acknowledged_at=june + timedelta(hours=1))
    await file_tip(app, "trading", BA_DINH, received_at=vn(2026, 5, 20, 10))
    return ids


def test_months_are_vietnam_calendar_months() -> None:
    assert parse_month("2026-06") == (2026, 6)
    for wrong in ("2026-13", "June", "26-06", "2026/06"):
        with pytest.raises(ValueError):
            parse_month(wrong)
    start, end = month_bounds(2026, 6)
    assert start == datetime(2026, 5, 31, 17, tzinfo=UTC)
    assert end == datetime(2026, 6, 30, 17, tzinfo=UTC)


async def test_report_figures_match_the_seeded_month(app: App) -> None:
    await setup_hanoi(app)
    await seed(app)
    now = vn(2026, 7, 2, 9)
    report = await month_report(app, 2026, 6, HANOI, now=now)

    assert report.delivered_by_group == {"students": 18, "parents": 3}
    assert report.delivered_by_province == {HANOI: 21}
    assert report.delivered_by_channel == {"telegram": 18, "zalo": 3}
    assert report.messages_sent == 2
    # The Ba Đình message reached subscribers who are forgotten (no link): commune unknown.
    assert report.delivered_by_commune == {(HANOI, None): 6}
    assert report.deliveries_by_status["telegram"]["blocked"] == 1
    assert report.subscribers_gained == {"telegram": 7, "zalo": 2}
    assert report.subscribers_lost == {"telegram": 1}
    assert report.subscribers_active == {"telegram": 6, "zalo": 2}

    assert report.tips == 9
    assert report.tips_by_commune[BA_DINH] == {"trading": 6}
    assert report.tips_by_commune[HOAN_KIEM] == {"hotspot": 2}
    assert report.tips_by_commune[None] == {"other": 1}
    assert report.acknowledged == 8
    assert report.median_ack_hours == 3.5  # 1, 1, 2, 3, 4, 5, 6, 30
    assert report.p90_ack_hours == pytest.approx(13.2)
    assert report.overdue == 2  # acknowledged after 30 h, and never acknowledged
    assert report.dispositions == {"confirmed": 2, "unfounded": 1}
    assert report.statuses == {"in_review": 4, "closed": 3, "new": 2}
    assert (report.arrests, report.seizures_grams, report.tips_with_outcome) == (4, 15.0, 2)
    queues = {q.commune_code: q for q in report.queues}
    assert queues[BA_DINH].received == 6 and queues[BA_DINH].median_ack_hours == 3.5
    assert queues[HOAN_KIEM].overdue == 2

    everywhere = await month_report(app, 2026, 6, now=now)
    assert everywhere.delivered_by_province == {HANOI: 21, HCMC: 1}
    assert everywhere.subscribers_gained == {"telegram": 8, "zalo": 2}


async def test_published_outputs_hide_small_counts(app: App) -> None:
    await setup_hanoi(app)
    await seed(app)
    report = await month_report(app, 2026, 6, HANOI, published=True, now=vn(2026, 7, 2))
    view = report_view(report, "en", app.directory, app.content)
    rows = {row[0]: row[1:] for row in view.table("delivered-group").rows}
    assert rows["Pupils, students, young people"] == ["18"]
    assert rows["Parents and carers of children"] == ["<5"]
    summary = dict(view.table("summary").rows)
    assert summary["Arrests"] == "<5"
    assert summary["Tips received"] == "9"
    assert summary["Drugs seized (grams)"] == "(<5)"  # from two tips only

    text = report_csv(view)
    table = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    cells = [cell for row in table for cell in row]
    assert "<5" in cells
    for small in ("1", "2", "3", "4"):
        assert small not in cells, small
    page = report_html(view, "en")
    assert "<style>" in page and "@media print" in page and "<svg" in page
    assert "<script" not in page
    assert ">3<" not in page and "&lt;5" in page

    internal = report_view(
        await month_report(app, 2026, 6, HANOI, now=vn(2026, 7, 2)),
        "en",
        app.directory,
        app.content,
    )
    assert dict(internal.table("summary").rows)["Arrests"] == "4"


def test_the_cli_prints_the_report_and_writes_csv_and_html(tmp_path: Path) -> None:
    env = {
        "TIPLINE_DATA_DIR": str(tmp_path / "data"),
        "TIPLINE_KDF_MEMORY_KIB": str(FAST_TEST_KDF.memory_kib),
        "TIPLINE_KDF_ITERATIONS": str(FAST_TEST_KDF.iterations),
        "TIPLINE_DATABASE_URL": "",
        "COLUMNS": "220",
    }

    async def prepare() -> None:
        app = await bootstrap(
            Settings(
                _env_file=None,  # type: ignore[call-arg]
                data_dir=tmp_path / "data",
                kdf_memory_kib=FAST_TEST_KDF.memory_kib,
                kdf_iterations=FAST_TEST_KDF.iterations,
            )
        )
        try:
            await setup_hanoi(app)
            await seed(app)
        finally:
            await app.close()

    asyncio.run(prepare())
    csv_file, html_file = tmp_path / "june.csv", tmp_path / "june.html"
    result = CliRunner().invoke(
        cli,
        [
            "report",
            "--month",
            "2026-06",
            "--province",
            "1",
            "--csv",
            str(csv_file),
            "--html",
            str(html_file),
            "--lang",
            "en",
        ],
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert "Results report, 06/2026" in result.output
    assert "Internal figures" in result.output
    assert "Pupils, students, young people" in result.output
    written = csv_file.read_text(encoding="utf-8")
    assert written.startswith("\ufeff") and "<5" in written
    assert "Tips received per commune and category" in written
    page = html_file.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and "Thành phố Hà Nội" in page

    wrong = CliRunner().invoke(cli, ["report", "--month", "June"], env=env)
    assert wrong.exit_code == 1
