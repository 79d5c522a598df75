"""Vietnam's provinces and communes since 1 July 2025, and matching what a reporter types.

The reorganisation left 34 provinces and 3,321 communes (xã, phường, đặc khu) and abolished
districts, but people keep using the old addresses: "xã Tân Lập, huyện Đan Phượng",
"phường Tràng Tiền, quận Hoàn Kiếm", or a province that no longer exists such as "Hà Giang".
This module answers with current units only, and says through which old name a match came.

Everything is built from the ``vietnam_provinces`` package on the first :meth:`Directory.load`
and kept for the life of the process; importing this module builds nothing.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import cache

__all__ = ["CommuneInfo", "CommuneMatch", "Directory", "ProvinceInfo", "normalize"]

_MARKS = re.compile(r"[\u0300-\u036f]")
_NON_WORD = re.compile(r"[^a-z0-9]+")
_WORD = re.compile(r"(?:[^\W_]|[\u0300-\u036f])+")
# Addresses are written "P.12, Q.3" as often as "Phường 12, Quận 3"; "p12" must not stay
# one unknown word.
_GLUED_NUMBER = re.compile(r"([pq])(\d+)")

_COMMUNE = "commune"
_DISTRICT = "district"
_ANY = "any"


@dataclass(frozen=True, slots=True)
class _Prefix:
    """A unit type written before a name, the kind of unit it names, and its full spelling."""

    words: tuple[str, ...]
    kind: str
    canonical: str


# Longest first, so "thi xa" is not read as a name starting with "thi".
_QUERY_PREFIXES: tuple[_Prefix, ...] = (
    _Prefix(("thi", "tran"), _COMMUNE, "thi tran"),
    _Prefix(("dac", "khu"), _COMMUNE, "dac khu"),
    _Prefix(("thi", "xa"), _DISTRICT, "thi xa"),
    _Prefix(("thanh", "pho"), _ANY, "thanh pho"),
    _Prefix(("xa",), _COMMUNE, "xa"),
    _Prefix(("phuong",), _COMMUNE, "phuong"),
    _Prefix(("tt",), _COMMUNE, "thi tran"),
    _Prefix(("p",), _COMMUNE, "phuong"),
    _Prefix(("x",), _COMMUNE, "xa"),
    _Prefix(("quan",), _DISTRICT, "quan"),
    _Prefix(("huyen",), _DISTRICT, "huyen"),
    _Prefix(("tx",), _DISTRICT, "thi xa"),
    _Prefix(("q",), _DISTRICT, "quan"),
    _Prefix(("h",), _DISTRICT, "huyen"),
    _Prefix(("tp",), _ANY, "thanh pho"),
    _Prefix(("tinh",), _ANY, "tinh"),
)
_PROVINCE_PREFIXES: tuple[_Prefix, ...] = (
    _Prefix(("thanh", "pho"), _ANY, "thanh pho"),
    _Prefix(("tp",), _ANY, "thanh pho"),
    _Prefix(("tinh",), _ANY, "tinh"),
)
# The prefixes official names carry; a name carries at most one.
_OFFICIAL_PREFIXES: tuple[tuple[str, ...], ...] = (
    ("thi", "tran"),
    ("dac", "khu"),
    ("thi", "xa"),
    ("thanh", "pho"),
    ("xa",),
    ("phuong",),
    ("quan",),
    ("huyen",),
    ("tinh",),
)
# Names people use that are neither a current nor a pre-2025 official name.
_PROVINCE_ALIASES: dict[str, int] = {
    "hcm": 79,
    "tphcm": 79,
    "hcmc": 79,
    "sai gon": 79,
    "sg": 79,
    "hn": 1,
    "brvt": 79,
    "thua thien hue": 46,
}

_LEGACY_PENALTY = 0.05
_DISTRICT_PENALTY = 0.07
_DISTRICT_PREFIX_BONUS = 0.04
_WRONG_KIND_FACTOR = 0.85
_OUTSIDE_DISTRICT_FACTOR = 0.9
_DISTRICT_FALLBACK_SCORE = 0.5
_FUZZY_THRESHOLD = 0.84
_STRIPPED_PENALTY = 0.06
# Folding makes "Lộc Thành" and "Lộc Thạnh", or "Xã Mỹ Thọ" and "Phường Mỹ Tho", the same
# name; these only order such twins by what was actually typed.
_OTHER_MARKS_PENALTY = 0.004
_OTHER_PREFIX_PENALTY = 0.002
_FUZZY_MIN_LENGTH = 4


@dataclass(frozen=True, slots=True)
class ProvinceInfo:
    """A current (post-2025) province or centrally governed city."""

    code: int
    name: str
    short_name: str


@dataclass(frozen=True, slots=True)
class CommuneInfo:
    """A current (post-2025) commune, ward or special zone."""

    code: int
    name: str
    province_code: int


@dataclass(frozen=True, slots=True)
class CommuneMatch:
    """A commune offered for what the reporter typed; ``legacy_name`` is the old name it matched."""

    commune: CommuneInfo
    score: float
    legacy_name: str | None


def normalize(text: str) -> str:
    """Fold ``text`` for comparison: lowercase, no diacritics (đ -> d), punctuation as spaces."""
    decomposed = unicodedata.normalize("NFD", text.lower())
    folded = _MARKS.sub("", decomposed).replace("đ", "d").replace("ð", "d")
    return _NON_WORD.sub(" ", folded).strip()


_Words = tuple[tuple[str, str], ...]
"""Words as (folded, accent signature) pairs."""


@dataclass(frozen=True, slots=True)
class _Candidate:
    """One name a query is compared with, and the current units it stands for."""

    key: str
    compact: str
    signature: str
    prefix: str
    targets: tuple[int, ...]
    offset: float
    label: str | None
    district: int | None
    is_district: bool


@dataclass(frozen=True, slots=True)
class _ProvinceCommunes:
    candidates: tuple[_Candidate, ...]
    districts: dict[str, tuple[_Candidate, ...]]
    district_targets: dict[int, frozenset[int]]
    province_keys: frozenset[str]


@dataclass(frozen=True, slots=True)
class _Index:
    provinces: tuple[ProvinceInfo, ...]
    province_by_code: dict[int, ProvinceInfo]
    province_candidates: tuple[_Candidate, ...]
    communes: dict[int, CommuneInfo]
    communes_by_province: dict[int, tuple[CommuneInfo, ...]]
    search: dict[int, _ProvinceCommunes]


@dataclass(slots=True)
class _Hit:
    score: float
    tie: int
    label: str | None


@dataclass(frozen=True, slots=True)
class _Form:
    """One reading of the query: its key with at most one leading prefix removed."""

    key: str
    compact: str
    signature: str
    marked: bool
    prefix: _Prefix | None
    matcher: SequenceMatcher[str] | None

    @property
    def kind(self) -> str | None:
        return None if self.prefix is None else self.prefix.kind


class Directory:
    """Current provinces and communes, with lookup by code and matching of typed names."""

    __slots__ = ("_index",)

    def __init__(self, index: _Index) -> None:
        self._index = index

    @classmethod
    def load(cls) -> Directory:
        """The directory, built on first use and shared for the rest of the process."""
        return cls(_build_index())

    def provinces(self) -> list[ProvinceInfo]:
        """All 34 provinces, sorted by short name ignoring diacritics."""
        return list(self._index.provinces)

    def province(self, code: int) -> ProvinceInfo | None:
        """The province with this current code, if any."""
        return self._index.province_by_code.get(code)

    def commune(self, code: int) -> CommuneInfo | None:
        """The commune with this current code, if any."""
        return self._index.communes.get(code)

    def communes_of(self, province_code: int) -> list[CommuneInfo]:
        """The communes of a province, sorted by name without its prefix, ignoring diacritics."""
        return list(self._index.communes_by_province.get(province_code, ()))

    def match_province(self, text: str, limit: int = 5) -> list[ProvinceInfo]:
        """Provinces whose current, former or colloquial name matches ``text``, best first."""
        if limit <= 0:
            return []
        best: dict[int, _Hit] = {}
        forms = _forms(_words(text), _PROVINCE_PREFIXES)
        for fuzzy in (False, True):
            for form in forms:
                for candidate in self._index.province_candidates:
                    score = _score(form, candidate, fuzzy=fuzzy)
                    if score > 0.0:
                        _keep(best, candidate.targets, score, None)
            if best:
                break
        return [self._index.province_by_code[code] for code in _ranked(best, limit)]

    def match_commune(self, province_code: int, text: str, limit: int = 5) -> list[CommuneMatch]:
        """Communes of a current province matching ``text``, best first.

        Pre-2025 commune and district names count too; a trailing old district ("Tràng Tiền,
        Hoàn Kiếm") ranks the old communes of that district first.
        """
        search = self._index.search.get(province_code)
        tokens = _words(text)
        if search is None or not tokens or limit <= 0:
            return []
        best: dict[int, _Hit] = {}
        variants = _without_province_suffix(tokens, search.province_keys)
        # Typo matching only when nothing matched as typed: a near miss ranked below a real
        # match only crowds out better choices.
        for fuzzy in (False, True):
            for variant in variants:
                _search_communes(search, variant, best, fuzzy=fuzzy)
                split = _split_district(search, variant)
                if split is not None:
                    _search_within_districts(search, split[0], split[1], best, fuzzy=fuzzy)
            if best:
                break
        communes = self._index.communes
        return [
            CommuneMatch(communes[code], round(best[code].score, 4), best[code].label)
            for code in _ranked(best, limit)
        ]


def _words(text: str) -> _Words:
    words: list[tuple[str, str]] = []
    for raw in _WORD.findall(unicodedata.normalize("NFC", text.lower())):
        folded = normalize(raw).split()
        if len(folded) != 1:
            words += [(word, word) for word in folded]
        elif glued := _GLUED_NUMBER.fullmatch(folded[0]):
            words += [(glued[1], glued[1]), (glued[2], glued[2])]
        else:
            words.append((folded[0], _signature(raw)))
    return tuple(words)


def _signature(word: str) -> str:
    """The word with its marks sorted to the end, so "hoà" and "hòa" agree but "thành" and
    "thạnh" do not."""
    decomposed = unicodedata.normalize("NFD", word)
    marks = sorted(c for c in decomposed if unicodedata.combining(c))
    return "".join(c for c in decomposed if not unicodedata.combining(c)) + "".join(marks)


def _readings(words: _Words, prefixes: Sequence[_Prefix]) -> list[tuple[_Words, _Prefix | None]]:
    """The query as typed, and without a leading prefix when it has one; [] for a bare prefix.

    Both readings are kept because prefix words are also name words: "Tịnh Khê" folds to
    "tinh khe", "Quan Sơn" to "quan son".
    """
    if not words:
        return []
    for prefix in prefixes:
        size = len(prefix.words)
        if tuple(folded for folded, _ in words[:size]) == prefix.words:
            if len(words) == size:
                return []
            return [(words, None), (words[size:], prefix)]
    return [(words, None)]


def _folded(words: _Words) -> str:
    return " ".join(folded for folded, _ in words)


def _forms(words: _Words, prefixes: Sequence[_Prefix]) -> list[_Form]:
    forms = []
    for reading, prefix in _readings(words, prefixes):
        key = _folded(reading)
        signature = " ".join(sign for _, sign in reading)
        compact = key.replace(" ", "")
        matcher: SequenceMatcher[str] | None = None
        if len(compact) >= _FUZZY_MIN_LENGTH:
            matcher = SequenceMatcher(None, autojunk=False)
            matcher.set_seq2(key)
        forms.append(_Form(key, compact, signature, signature != key, prefix, matcher))
    return forms


def _score(form: _Form, candidate: _Candidate, *, fuzzy: bool) -> float:
    """How well one reading of the query names ``candidate``; 0.0 for no match."""
    query, compact, name = form.key, form.compact, candidate.key
    if compact == candidate.compact:
        score = 1.0
        if form.marked and form.signature != candidate.signature:
            score -= _OTHER_MARKS_PENALTY
        if form.prefix and candidate.prefix and form.prefix.canonical != candidate.prefix:
            score -= _OTHER_PREFIX_PENALTY
    elif len(compact) >= 2 and candidate.compact.startswith(compact):
        whole_words = name.startswith(query) and name[len(query) : len(query) + 1] in ("", " ")
        score = 0.85 + (0.03 if whole_words else 0.0) + 0.02 * len(compact) / len(candidate.compact)
    elif len(compact) >= 3 and (position := name.find(query)) > 0:
        at_word = name[position - 1] == " "
        score = (0.72 if at_word else 0.66) + 0.05 * len(query) / len(name)
    elif fuzzy and form.matcher is not None and _close_in_length(len(query), len(name)):
        form.matcher.set_seq1(name)
        if form.matcher.quick_ratio() < _FUZZY_THRESHOLD:
            return 0.0
        ratio = form.matcher.ratio()
        if ratio < _FUZZY_THRESHOLD:
            return 0.0
        score = 0.6 * ratio
    else:
        return 0.0
    if form.prefix is not None and compact != candidate.compact:
        # "phuong lien" is more likely "Phương Liên" than "Phường Liên...": the reading that
        # uses every typed word wins a tie.
        score -= _STRIPPED_PENALTY
    score -= candidate.offset
    if form.kind == _DISTRICT:
        if candidate.is_district:
            score += _DISTRICT_PREFIX_BONUS
        else:
            score *= _WRONG_KIND_FACTOR
    elif form.kind == _COMMUNE and candidate.is_district:
        score *= _WRONG_KIND_FACTOR
    return score


def _close_in_length(a: int, b: int) -> bool:
    # SequenceMatcher.ratio() cannot exceed 2 * min / (a + b).
    return 2 * min(a, b) >= _FUZZY_THRESHOLD * (a + b)


def _keep(best: dict[int, _Hit], targets: Iterable[int], score: float, label: str | None) -> None:
    for tie, code in enumerate(targets):
        hit = best.get(code)
        if hit is None or (score, -tie) > (hit.score, -hit.tie):
            best[code] = _Hit(score, tie, label)


def _ranked(best: dict[int, _Hit], limit: int) -> list[int]:
    order = sorted(best, key=lambda code: (-best[code].score, best[code].tie, code))
    return order[:limit]


def _search_communes(
    search: _ProvinceCommunes, tokens: _Words, best: dict[int, _Hit], *, fuzzy: bool
) -> None:
    for form in _forms(tokens, _QUERY_PREFIXES):
        for candidate in search.candidates:
            score = _score(form, candidate, fuzzy=fuzzy)
            if score > 0.0:
                _keep(best, candidate.targets, score, candidate.label)


def _search_within_districts(
    search: _ProvinceCommunes,
    tokens: _Words,
    districts: tuple[_Candidate, ...],
    best: dict[int, _Hit],
    *,
    fuzzy: bool,
) -> None:
    """Match the commune part of "<commune> <old district>", preferring that district."""
    district_codes = {d.district for d in districts}
    inside: set[int] = set()
    for district in districts:
        if district.district is not None:
            inside |= search.district_targets.get(district.district, frozenset())
    found_inside = False
    for form in _forms(tokens, _QUERY_PREFIXES):
        for candidate in search.candidates:
            if candidate.is_district:
                continue
            score = _score(form, candidate, fuzzy=fuzzy)
            if score <= 0.0:
                continue
            if candidate.district is None:
                in_district = bool(inside.intersection(candidate.targets))
            else:
                in_district = candidate.district in district_codes
            if in_district:
                found_inside = True
            else:
                score *= _OUTSIDE_DISTRICT_FACTOR
            _keep(best, candidate.targets, score, candidate.label)
    # The old district alone still narrows the place down when its commune is not recognised.
    if fuzzy and not found_inside:
        for district in districts:
            _keep(best, district.targets, _DISTRICT_FALLBACK_SCORE, district.label)


def _split_district(
    search: _ProvinceCommunes, tokens: _Words
) -> tuple[_Words, tuple[_Candidate, ...]] | None:
    """Split "<commune> [huyện] <old district>" into its parts, if it ends with an old district.

    A split whose district part carries its own prefix ("... huyện Đan Phượng") is preferred,
    then the longest district part.
    """
    found: dict[tuple[bool, int], tuple[_Candidate, ...]] = {}
    # No old district name runs past six words, prefix included.
    for start in range(max(1, len(tokens) - 6), len(tokens)):
        if not _readings(tokens[:start], _QUERY_PREFIXES):
            continue
        for words, prefix in _readings(tokens[start:], _QUERY_PREFIXES):
            districts = search.districts.get(_folded(words).replace(" ", ""))
            if districts and (prefix is None or prefix.kind != _COMMUNE):
                found[prefix is None, start] = districts
    if not found:
        return None
    option = min(found)
    return tokens[: option[1]], found[option]


def _without_province_suffix(tokens: _Words, province_keys: frozenset[str]) -> list[_Words]:
    """The query, and the query without a trailing name of the province it is searched in."""
    variants = [tokens]
    for start in range(max(1, len(tokens) - 5), len(tokens)):
        readings = _readings(tokens[start:], _PROVINCE_PREFIXES)
        if any(_folded(words).replace(" ", "") in province_keys for words, _ in readings):
            variants.append(tokens[:start])
            break
    return variants


def _capitalized(name: str) -> str:
    # The source spells one commune "xã Bắc Sơn"; every other name starts with a capital.
    return name[:1].upper() + name[1:]


def _candidate(
    name: str,
    targets: tuple[int, ...],
    *,
    offset: float = 0.0,
    label: str | None = None,
    district: int | None = None,
    is_district: bool = False,
) -> _Candidate:
    words = _words(name)
    prefix = ""
    for official in _OFFICIAL_PREFIXES:
        if len(words) > len(official) and _folded(words[: len(official)]) == " ".join(official):
            prefix = " ".join(official)
            words = words[len(official) :]
            break
    key = _folded(words)
    signature = " ".join(sign for _, sign in words)
    return _Candidate(
        key, key.replace(" ", ""), signature, prefix, targets, offset, label, district, is_district
    )


@cache
def _build_index() -> _Index:
    from vietnam_provinces import Province, Ward, legacy
    from vietnam_provinces._province_conversion_2025 import OLD_TO_NEW as PROVINCE_OLD_TO_NEW
    from vietnam_provinces._ward_conversion_2025 import OLD_TO_NEW as WARD_OLD_TO_NEW

    provinces = sorted(
        (
            ProvinceInfo(int(p.code), p.name, _short_province_name(p.name))
            for p in Province.iter_all()
        ),
        key=lambda p: (normalize(p.short_name), p.short_name),
    )
    province_by_code = {p.code: p for p in provinces}

    communes = {
        int(w.code): CommuneInfo(int(w.code), _capitalized(w.name), int(w.province_code))
        for w in Ward.iter_all()
    }
    current: dict[int, list[_Candidate]] = defaultdict(list)
    for commune in communes.values():
        current[commune.province_code].append(_candidate(commune.name, (commune.code,)))
    communes_by_province = {
        code: tuple(
            communes[c.targets[0]]
            for c in sorted(candidates, key=lambda c: (c.key, communes[c.targets[0]].name))
        )
        for code, candidates in current.items()
    }
    current_keys = {c.targets[0]: c.compact for cs in current.values() for c in cs}

    legacy_wards = {int(w.code): w for w in legacy.Ward.iter_all()}
    legacy_districts = {int(d.code): d for d in legacy.District.iter_all()}
    old: dict[int, list[_Candidate]] = defaultdict(list)
    weights: dict[tuple[int, int], dict[int, float]] = defaultdict(lambda: defaultdict(float))
    for old_code, entry in WARD_OLD_TO_NEW.items():
        ward = legacy_wards.get(old_code)
        if ward is None:
            continue
        district_code = int(ward.district_code)
        label = f"{ward.name}, {legacy_districts[district_code].name}"
        by_province: dict[int, list[int]] = defaultdict(list)
        for new in entry.new_wards:
            if new.code in communes:
                by_province[new.province_code].append(new.code)
                weights[district_code, new.province_code][new.code] += 1 / len(entry.new_wards)
        for province_code, codes in by_province.items():
            candidate = _candidate(
                ward.name,
                tuple(codes),
                offset=_LEGACY_PENALTY,
                label=label,
                district=district_code,
            )
            # A ward that kept its name in one successor adds nothing the current name lacks.
            if len(codes) == 1 and current_keys[codes[0]] == candidate.compact:
                continue
            old[province_code].append(candidate)

    # Island districts had no wards in the conversion table; each is now a special zone
    # of the same name.
    mapped_districts = {district for district, _ in weights}
    for district_code, district in legacy_districts.items():
        if district_code in mapped_districts:
            continue
        key = _candidate(district.name, ()).compact
        old_province = PROVINCE_OLD_TO_NEW.get(int(district.province_code))
        for new_province in old_province.new_provinces if old_province else ():
            for commune_code, commune_key in current_keys.items():
                same_province = communes[commune_code].province_code == new_province.code
                if same_province and commune_key == key:
                    weights[district_code, new_province.code][commune_code] += 1.0

    district_candidates: dict[int, list[_Candidate]] = defaultdict(list)
    district_targets: dict[int, dict[int, frozenset[int]]] = defaultdict(dict)
    for (district_code, province_code), weight in weights.items():
        targets = tuple(sorted(weight, key=lambda code: (-weight[code], code)))
        name = legacy_districts[district_code].name
        district_candidates[province_code].append(
            _candidate(
                name,
                targets,
                offset=_DISTRICT_PENALTY,
                label=name,
                district=district_code,
                is_district=True,
            )
        )
        district_targets[province_code][district_code] = frozenset(targets)

    province_candidates: list[_Candidate] = [_candidate(p.short_name, (p.code,)) for p in provinces]
    province_candidates += [_candidate(alias, (code,)) for alias, code in _PROVINCE_ALIASES.items()]
    province_keys: dict[int, set[str]] = defaultdict(set)
    for legacy_province in legacy.Province.iter_all():
        successors = PROVINCE_OLD_TO_NEW.get(int(legacy_province.code))
        if successors is None:
            continue
        targets = tuple(new.code for new in successors.new_provinces)
        province_candidates.append(
            _candidate(legacy_province.name, targets, offset=_LEGACY_PENALTY)
        )
    for candidate in province_candidates:
        for code in candidate.targets:
            province_keys[code].add(candidate.compact)

    search: dict[int, _ProvinceCommunes] = {}
    for province in provinces:
        code = province.code
        by_key: dict[str, list[_Candidate]] = defaultdict(list)
        for candidate in district_candidates[code]:
            by_key[candidate.compact].append(candidate)
        search[code] = _ProvinceCommunes(
            candidates=tuple(current[code] + old[code] + district_candidates[code]),
            districts={key: tuple(value) for key, value in by_key.items()},
            district_targets=district_targets[code],
            province_keys=frozenset(province_keys[code]),
        )

    return _Index(
        provinces=tuple(provinces),
        province_by_code=province_by_code,
        province_candidates=tuple(province_candidates),
        communes=communes,
        communes_by_province=communes_by_province,
        search=search,
    )


def _short_province_name(name: str) -> str:
    for prefix in ("Thành phố ", "Tỉnh "):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name
