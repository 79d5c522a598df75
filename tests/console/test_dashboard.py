"""The supervisor dashboard: its numbers are the tips filed, its province only, for
supervisors and admins only; charts are inline SVG with their numbers in tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

from sqlalchemy import select, update

from bot.bootstrap import App
from bot.console.core import LOCAL_TIME
from bot.console.dashboard import month_starts
from storage.models import Tip
from storage.police import queue_name
from storage.vault import TipDraft
from tests.conftest import BA_DINH, HANOI, HOAN_KIEM, Police
from tests.console.conftest import PASSWORD, Browsers, ConsoleClient, add_officer

HCMC = 79
HANOI_SUPERVISOR = "giamsat.hanoi"
HCMC_SUPERVISOR = "giamsat.hcm"


class Tables(HTMLParser):
    """The text of every cell of every table with an id, row by row."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._cell: list[str] | None = None
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._table = dict(attrs).get("id")
            if self._table:
                self.tables[self._table] = []
        elif self._table and tag == "tr":
            self.tables[self._table].append([])
        elif self._table and tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table = None
        elif self._table and tag in ("td", "th") and self._cell is not None:
            self.tables[self._table][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def table(page: str, table_id: str) -> list[list[str]]:
    return Tables(page).tables[table_id]


def column(page: str, table_id: str) -> dict[str, str]:
    """A two-column table as {first cell: second cell}, without its header."""
    return {row[0]: row[1] for row in table(page, table_id)[1:]}


async def file_tip(
    app: App, category: str, commune: int | None, age: timedelta = timedelta(0)
) -> str:
    """A tip filed as a reporter would, then moved back in time by ``age``."""
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
        received = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - age
        await session.execute(update(Tip).where(Tip.id == tip_id).values(received_at=received))
    return tip_id


async def hanoi_supervisor(app: App, police: Police, browsers: Browsers) -> ConsoleClient:
    officer = await app.police.add_officer(
        HANOI_SUPERVISOR, "Giám sát Hà Nội", PASSWORD, role="supervisor", province_code=HANOI
    )
    private = await app.police.queue_key_from_recovery(police.queues[None], police.recovery_private)
    await app.police.grant(police.queues[None], officer.id, private)
    browser = browsers.client()
    await browser.signed_in(HANOI_SUPERVISOR, PASSWORD)
    return browser


async def test_the_dashboard_counts_the_tips_of_the_province(
    app: App, police: Police, browsers: Browsers
) -> None:
    day = timedelta(days=1)
    for _ in range(3):
        await file_tip(app, "trading", BA_DINH)
    for _ in range(2):
        await file_tip(app, "hotspot", BA_DINH)
    await file_tip(app, "hotspot", BA_DINH, 40 * day)
    await file_tip(app, "storing", BA_DINH, 200 * day)
    await file_tip(app, "hotspot", HOAN_KIEM, 70 * day)
    await file_tip(app, "other", None)
    browser = await hanoi_supervisor(app, police, browsers)
    ba_dinh = app.directory.commune(BA_DINH)
    hoan_kiem = app.directory.commune(HOAN_KIEM)
    assert ba_dinh is not None and hoan_kiem is not None

    page = await browser.get("/console/dashboard")
    assert page.status_code == 200
    text = page.text
    assert "Bảng số liệu" in text and "Thành phố Hà Nội" in text
    # Charts are inline SVG with a title, a description and a table of their numbers.
    assert text.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart"') == 2
    assert '<title id="chart-weekly-title">Tin báo theo tuần, theo loại</title>' in text
    assert text.count("<details>") == 2
    assert " style=" not in text and "<script" not in text
    assert "Mua bán, bán lẻ ma túy" in text  # the legend in the officer's language

    # (a) the last 12 weeks: all but the 200-day-old tip
    weeks = table(text, "table-weekly")
    header, rows = weeks[0], weeks[1:]
    assert len(rows) == 12
    assert sum(int(row[-1]) for row in rows) == 8
    hotspot_column = header.index("Điểm, tụ điểm phức tạp về ma túy")
    assert sum(int(row[hotspot_column]) for row in rows) == 4
    assert rows[-1][-1] == "6"  # this week: the six fresh tips

    # (b) per commune over 30, 90 and 365 days
    assert column(text, "table-communes") == {
        ba_dinh.name: "5",
        "Không rõ xã, phường": "1",
        "Tổng": "6",
    }
    ninety = await browser.get("/console/dashboard", params={"period": "90"})
    assert column(ninety.text, "table-communes") == {
        ba_dinh.name: "6",
        hoan_kiem.name: "1",
        "Không rõ xã, phường": "1",
        "Tổng": "8",
    }
    assert 'href="/console/dashboard?period=90" aria-current="true"' in ninety.text
    year = await browser.get("/console/dashboard", params={"period": "365"})
    assert column(year.text, "table-communes")[ba_dinh.name] == "7"
    odd = await browser.get("/console/dashboard", params={"period": "7"})
    assert column(odd.text, "table-communes")["Tổng"] == "6"  # back to 30 days

    # (c) hotspot tips per commune and month
    hotspots = table(text, "table-hotspots")
    months = hotspots[0][1:-2]
    now = datetime.now(UTC)
    assert months == [s.astimezone(LOCAL_TIME).strftime("%m/%Y") for s in month_starts(now)]
    by_name = {row[0]: row for row in hotspots[1:]}

    def month_of(age: timedelta) -> str:
        moment = now.replace(minute=0, second=0, microsecond=0) - age
        return moment.astimezone(LOCAL_TIME).strftime("%m/%Y")

    expected_ba_dinh = [0] * len(months)
    expected_ba_dinh[months.index(month_of(timedelta(0)))] += 2
    expected_ba_dinh[months.index(month_of(40 * day))] += 1
    assert [int(n) for n in by_name[ba_dinh.name][1:-1]] == [*expected_ba_dinh, 3]
    assert by_name[hoan_kiem.name][-2] == "1"
    assert by_name["Toàn tỉnh"][-2] == "4"
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="spark"' in text

    # (d) queue health: every tip is new; the 40- and 200-day-old Ba Đình tips are overdue
    health = {row[0]: row[1:] for row in table(text, "table-health")[1:]}
    assert health["Queue 4"] == ["7", "2", "—", "5"]
    assert health["Queue 70"] == ["1", "1", "—", "0"]
    assert health["Queue None"] == ["1", "0", "—", "1"]

    # Internal: small counts are shown, and the footer says so.
    assert "Số liệu nội bộ" in text and "“&lt;5”" in text


async def test_the_median_time_to_acknowledge_is_shown(
    app: App, police: Police, browsers: Browsers
) -> None:
    tip_id = await file_tip(app, "trading", BA_DINH, timedelta(hours=10))
    async with app.db.sessions.begin() as session:
        tip = await session.get(Tip, tip_id)
        assert tip is not None
        tip.status = "in_review"
        tip.acknowledged_at = tip.received_at + timedelta(hours=3)
    browser = await hanoi_supervisor(app, police, browsers)
    page = await browser.get("/console/dashboard")
    health = {row[0]: row[1:] for row in table(page.text, "table-health")[1:]}
    assert health["Queue 4"] == ["0", "0", "3.0", "1"]


async def test_english_officers_read_english_labels(
    app: App, police: Police, browsers: Browsers
) -> None:
    await file_tip(app, "hotspot", BA_DINH)
    browser = await hanoi_supervisor(app, police, browsers)
    await browser.get("/console/lang/en")
    page = await browser.get("/console/dashboard")
    assert "Tips per week, by category" in page.text
    assert "Drug hotspot (repeated use or sale)" in page.text
    assert "Điểm, tụ điểm" not in page.text


async def test_officers_and_communicators_cannot_open_the_dashboard(
    app: App, police: Police, browsers: Browsers, ba_dinh_officer: str
) -> None:
    await file_tip(app, "trading", BA_DINH)
    officer = browsers.client()
    await officer.signed_in(ba_dinh_officer, PASSWORD)
    home = await officer.get("/console/")
    assert "/console/dashboard" not in home.text
    refused = await officer.get("/console/dashboard")
    assert refused.status_code == 404
    assert "Không có trang này." in refused.text
    await app.police.add_officer(
        "truyenthong.hn", "Truyền thông", PASSWORD, role="communicator", province_code=HANOI
    )
    communicator = browsers.client()
    await communicator.signed_in("truyenthong.hn", PASSWORD)
    assert (await communicator.get("/console/dashboard")).status_code == 404


async def test_a_supervisor_of_another_province_sees_none_of_these_figures(
    app: App, police: Police, browsers: Browsers
) -> None:
    for commune in (BA_DINH, BA_DINH, HOAN_KIEM, None):
        await file_tip(app, "hotspot", commune)
    await app.police.create_recovery_key(HCMC)
    province = app.directory.province(HCMC)
    assert province is not None
    queue, private = await app.police.create_queue(HCMC, None, queue_name(province, None))
    officer = await app.police.add_officer(
        HCMC_SUPERVISOR, "Giám sát TP.HCM", PASSWORD, role="supervisor", province_code=HCMC
    )
    await app.police.grant(queue.id, officer.id, private)
    browser = browsers.client()
    await browser.signed_in(HCMC_SUPERVISOR, PASSWORD)
    page = await browser.get("/console/dashboard", params={"period": "365"})
    assert page.status_code == 200
    assert "Thành phố Hồ Chí Minh" in page.text
    for name in ("Phường Ba Đình", "Phường Hoàn Kiếm", "Thành phố Hà Nội", "Queue 4"):
        assert name not in page.text
    assert column(page.text, "table-communes") == {"Tổng": "0"}
    assert sum(int(row[-1]) for row in table(page.text, "table-weekly")[1:]) == 0
    assert "Không có tin báo về điểm, tụ điểm ma túy trong sáu tháng gần nhất." in page.text
    assert [row[0] for row in table(page.text, "table-health")[1:]] == [queue.name]


async def test_a_supervisor_made_without_a_province_reads_the_province_of_their_queue(
    app: App, police: Police, browsers: Browsers, supervisor: str
) -> None:
    """Accounts made with the command line have no province: the PC04 queue says it."""
    await file_tip(app, "trading", BA_DINH)
    browser = browsers.client()
    await browser.signed_in(supervisor, PASSWORD)
    page = await browser.get("/console/dashboard")
    assert column(page.text, "table-communes")["Tổng"] == "1"
    assert 'href="/console/dashboard" aria-current="page"' in page.text


async def test_a_supervisor_without_any_province_is_told_so(
    app: App, police: Police, browsers: Browsers
) -> None:
    await add_officer(app, police, "giamsat.lac", BA_DINH, role="supervisor")
    browser = browsers.client()
    await browser.signed_in("giamsat.lac", PASSWORD)
    page = await browser.get("/console/dashboard")
    assert page.status_code == 403
    assert "chưa gắn với tỉnh, thành phố nào" in page.text
