"""The province and commune directory, and matching what a reporter types."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from vietnam_provinces import legacy
from vietnam_provinces._ward_conversion_2025 import OLD_TO_NEW

from storage.directory import Directory, normalize

HA_NOI = 1
TUYEN_QUANG = 8
PHU_THO = 25
HUE = 46
QUANG_NGAI = 51
DAK_LAK = 66
DONG_NAI = 75
HO_CHI_MINH = 79
TAY_NINH = 80
DONG_THAP = 82

PHUONG_BA_DINH = 4
PHUONG_HOAN_KIEM = 70
PHUONG_DONG_DA = 235
XA_DAN_PHUONG = 9784
XA_BA_VI = 9700


@pytest.fixture(scope="module")
def directory() -> Directory:
    return Directory.load()


def _communes_of_old_district(name: str) -> set[int]:
    """Current communes that took in at least one old commune of this pre-2025 district."""
    (district,) = [d for d in legacy.District.iter_all() if d.name == name]
    return {
        new.code
        for entry in OLD_TO_NEW.values()
        if entry.old_ward.district_code == int(district.code)
        for new in entry.new_wards
    }


def test_there_are_34_provinces_and_3321_communes(directory: Directory) -> None:
    provinces = directory.provinces()
    communes = [c for p in provinces for c in directory.communes_of(p.code)]

    assert len(provinces) == 34
    assert len(communes) == 3321
    assert len({c.code for c in communes}) == 3321
    assert all(c.province_code in {p.code for p in provinces} for c in communes)


def test_provinces_are_sorted_by_name_ignoring_diacritics(directory: Directory) -> None:
    names = [p.short_name for p in directory.provinces()]

    assert names == sorted(names, key=normalize)
    assert names[0] == "An Giang"
    # A plain string sort would put "Đà Nẵng" after "Vĩnh Long", since "Đ" sorts after "Z".
    assert names.index("Đà Nẵng") < names.index("Gia Lai")


def test_lookup_by_code(directory: Directory) -> None:
    ha_noi = directory.province(HA_NOI)

    assert ha_noi is not None
    assert (ha_noi.name, ha_noi.short_name) == ("Thành phố Hà Nội", "Hà Nội")
    assert directory.province(999) is None
    commune = directory.commune(PHUONG_BA_DINH)
    assert commune is not None
    assert (commune.name, commune.province_code) == ("Phường Ba Đình", HA_NOI)
    assert directory.commune(-1) is None
    assert directory.communes_of(999) == []


def test_every_commune_name_starts_with_a_capital(directory: Directory) -> None:
    names = [c.name for p in directory.provinces() for c in directory.communes_of(p.code)]

    # The source data spells one of them "xã Bắc Sơn".
    assert all(name[0].isupper() for name in names)
    assert "Xã Bắc Sơn" in names


def test_load_is_shared(directory: Directory) -> None:
    assert Directory.load().province(HA_NOI) is directory.province(HA_NOI)


def test_importing_builds_nothing() -> None:
    code = (
        "import sys, storage.directory; "
        "print(any(m.startswith('vietnam_provinces') for m in sys.modules))"
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Phường Ba Đình", "phuong ba dinh"),
        ("  ĐỐNG-ĐA__quận,  Hà Nội!", "dong da quan ha noi"),
        ("Ea H'Leo", "ea h leo"),
        ("🙂", ""),
    ],
)
def test_normalize(text: str, expected: str) -> None:
    assert normalize(text) == expected


@pytest.mark.parametrize(
    "text", ["phuong ba dinh", "Ba Đình", "ba-dinh", "BA DINH", "  p. Ba Đình ", "badinh"]
)
def test_any_spelling_of_a_commune_finds_it_first(directory: Directory, text: str) -> None:
    best = directory.match_commune(HA_NOI, text)[0]

    assert best.commune.code == PHUONG_BA_DINH
    assert best.commune.name == "Phường Ba Đình"
    assert best.score == 1.0
    assert best.legacy_name is None


@pytest.mark.parametrize(
    ("text", "code"), [("dong da", PHUONG_DONG_DA), ("xa dan phuong", XA_DAN_PHUONG)]
)
def test_unaccented_query_finds_a_name_with_d_stroke(
    directory: Directory, text: str, code: int
) -> None:
    best = directory.match_commune(HA_NOI, text)[0]

    assert best.commune.code == code
    assert best.score == 1.0


def test_pre_2025_ward_maps_to_its_current_commune(directory: Directory) -> None:
    matches = directory.match_commune(HA_NOI, "Tràng Tiền")

    assert matches[0].commune.name == "Phường Hoàn Kiếm"
    assert matches[0].legacy_name == "Phường Tràng Tiền, Quận Hoàn Kiếm"
    assert matches[0].score < 1.0


@pytest.mark.parametrize(
    "text",
    [
        "Tràng Tiền, Hoàn Kiếm",
        "phuong trang tien quan hoan kiem",
        "P. Tràng Tiền, Q. Hoàn Kiếm, Hà Nội",
    ],
)
def test_old_address_with_district(directory: Directory, text: str) -> None:
    best = directory.match_commune(HA_NOI, text)[0]

    assert best.commune.code == PHUONG_HOAN_KIEM
    assert best.legacy_name == "Phường Tràng Tiền, Quận Hoàn Kiếm"


def test_old_commune_with_its_old_district(directory: Directory) -> None:
    matches = directory.match_commune(HA_NOI, "xa tan lap huyen dan phuong")

    assert matches
    assert matches[0].legacy_name == "Xã Tân Lập, Huyện Đan Phượng"
    assert matches[0].commune.code in _communes_of_old_district("Huyện Đan Phượng")


def test_old_district_alone_gives_the_communes_formed_from_it(directory: Directory) -> None:
    formed = _communes_of_old_district("Huyện Ba Vì")

    matches = directory.match_commune(HA_NOI, "huyen Ba Vi")

    assert len(matches) == 5
    assert {m.commune.code for m in matches} <= formed
    assert {m.legacy_name for m in matches} == {"Huyện Ba Vì"}


def test_current_commune_named_like_an_old_district_comes_first(directory: Directory) -> None:
    formed = _communes_of_old_district("Huyện Ba Vì")

    matches = directory.match_commune(HA_NOI, "Ba Vì", limit=len(formed))

    assert matches[0].commune.code == XA_BA_VI
    assert matches[0].legacy_name is None
    assert {m.commune.code for m in matches[1:]} <= formed


def test_old_district_by_number_and_abbreviation(directory: Directory) -> None:
    matches = directory.match_commune(HO_CHI_MINH, "P.12, Q.3")

    assert matches[0].commune.name == "Phường Nhiêu Lộc"
    assert matches[0].legacy_name == "Phường 12, Quận 3"


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("ba dinhh", "Phường Ba Đình"),
        ("hoan kiemm", "Phường Hoàn Kiếm"),
        ("Ba Dihn", "Phường Ba Đình"),
    ],
)
def test_typo_still_finds_the_commune(directory: Directory, text: str, name: str) -> None:
    assert directory.match_commune(HA_NOI, text)[0].commune.name == name


def test_prefix_of_a_name_offers_it(directory: Directory) -> None:
    names = [m.commune.name for m in directory.match_commune(HA_NOI, "hoan ki")]

    assert names[0] == "Phường Hoàn Kiếm"


@pytest.mark.parametrize(
    ("province", "text", "name"),
    [
        (QUANG_NGAI, "tinh khe", "Xã Tịnh Khê"),
        (DAK_LAK, "ea hleo", "Xã Ea H'Leo"),
        (HO_CHI_MINH, "Côn Đảo", "Đặc khu Côn Đảo"),
    ],
)
def test_names_that_look_like_prefixes_or_have_apostrophes(
    directory: Directory, province: int, text: str, name: str
) -> None:
    best = directory.match_commune(province, text)[0]

    assert best.commune.name == name
    assert best.score == 1.0


@pytest.mark.parametrize(
    ("province", "text", "first", "second"),
    [
        (DONG_NAI, "Lộc Thạnh", "Xã Lộc Thạnh", "Xã Lộc Thành"),
        (DONG_NAI, "Lộc Thành", "Xã Lộc Thành", "Xã Lộc Thạnh"),
        (DONG_THAP, "Xã Mỹ Thọ", "Xã Mỹ Thọ", "Phường Mỹ Tho"),
        (DONG_THAP, "phuong my tho", "Phường Mỹ Tho", "Xã Mỹ Thọ"),
    ],
)
def test_twins_that_differ_only_in_marks_or_prefix_follow_what_was_typed(
    directory: Directory, province: int, text: str, first: str, second: str
) -> None:
    matches = directory.match_commune(province, text)

    assert [m.commune.name for m in matches[:2]] == [first, second]
    assert matches[0].score == 1.0


def test_old_tone_placement_is_an_exact_match(directory: Directory) -> None:
    for text in ("Hoà Bình", "Hòa Bình"):
        best = directory.match_commune(PHU_THO, text)[0]
        assert (best.commune.name, best.score) == ("Phường Hòa Bình", 1.0)


def test_commune_of_another_province_is_not_returned(directory: Directory) -> None:
    assert directory.match_commune(HO_CHI_MINH, "Bến Thành")[0].commune.name == "Phường Bến Thành"
    assert directory.match_commune(HA_NOI, "Bến Thành") == []
    for text in ("ba dinh", "Tân Lập", "huyen ba vi", "an"):
        assert {m.commune.province_code for m in directory.match_commune(HA_NOI, text)} <= {HA_NOI}


@pytest.mark.parametrize("text", ["", "   ", "!!!", "xã", "asdkjh", "zzzzqqq", "🙂🙂"])
def test_nonsense_gives_nothing(directory: Directory, text: str) -> None:
    assert directory.match_commune(HA_NOI, text) == []


def test_unknown_province_gives_nothing(directory: Directory) -> None:
    assert directory.match_commune(999, "ba dinh") == []


def test_results_are_unique_best_first_and_limited(directory: Directory) -> None:
    matches = directory.match_commune(HA_NOI, "Ba Đình", limit=20)
    codes = [m.commune.code for m in matches]
    scores = [m.score for m in matches]

    assert len(codes) == len(set(codes))
    assert scores == sorted(scores, reverse=True)
    assert len(directory.match_commune(HA_NOI, "Ba Đình", limit=2)) == 2
    assert directory.match_commune(HA_NOI, "Ba Đình", limit=0) == []


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("ha noi", HA_NOI),
        ("Hà Nội", HA_NOI),
        ("TP HCM", HO_CHI_MINH),
        ("tp. Hồ Chí Minh", HO_CHI_MINH),
        ("Hồ Chí Minh", HO_CHI_MINH),
        ("sai gon", HO_CHI_MINH),
        ("Hà Giang", TUYEN_QUANG),
        ("Bà Rịa - Vũng Tàu", HO_CHI_MINH),
        ("Thừa Thiên Huế", HUE),
    ],
)
def test_match_province(directory: Directory, text: str, code: int) -> None:
    assert directory.match_province(text)[0].code == code


def test_province_split_in_two_offers_both(directory: Directory) -> None:
    codes = {p.code for p in directory.match_province("Tiền Giang")}

    assert codes == {TAY_NINH, DONG_THAP}


@pytest.mark.parametrize("text", ["", "xyzzy", "!!!", "tỉnh"])
def test_match_province_nonsense_gives_nothing(directory: Directory, text: str) -> None:
    assert directory.match_province(text) == []
