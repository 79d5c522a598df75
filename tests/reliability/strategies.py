"""Hypothesis strategies shared by the fuzz tests: JSON values, nasty unicode, sessions."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

# Strings that break naive code: NUL and control characters, bidi overrides, combining
# marks, zero-width joiners, emoji sequences, BOM, non-characters, Vietnamese in NFC and NFD.
NASTY = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\x1b[31m\x07",
    "\u202eevil\u202c",
    "\u200f\u0627\u0644\u0639\u0631\u0628\u064a\u0629\u200e",
    "e" + "\u0301" * 500,
    "Z\u0351\u0368\u0307\u0334\u0317a\u0336\u0353l\u0321g\u0362o",
    "👨‍👩‍👧‍👦🏳️‍🌈🇻🇳",
    "\ufeff/start",
    "\ufffe\uffff",
    "\U0010ffff",
    "Hà Nội",
    "Ha\u0300 No\u0302\u0323i",
    "\u2028\u2029\r\n\t",
    "/start@tipline_bot extra",
    "/",
    "/" + "x" * 300,
    "１２３",
    "0",
    "-1",
    "99999999999999999999",
    "<b>bold</b>&amp;<script>alert(1)</script>",
    "{{ 7*7 }}%s%n",
    "' OR 1=1 --",
    "1234 5678 9012 3456",
    "lang:vi",
    "g:wipe",
    "menu:report",
    "x" * 3001,
    "đ" * 2000,
]

text = st.one_of(st.sampled_from(NASTY), st.text(max_size=120))
# Text that may also hold lone surrogates (json.loads lets them through, pydantic does not).
text_with_surrogates = st.one_of(
    text, st.text(st.characters(codec=None, categories=["Cs", "Ll", "Zs"]), max_size=20)
)

sessions = st.one_of(
    st.from_regex(r"\A[A-Za-z0-9_-]{22,128}\Z"),
    st.text(max_size=140),
    st.sampled_from(["", "a" * 21, "a" * 129, "a" * 22 + " ", "../../etc/passwd" + "a" * 10]),
)

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    text,
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly the strategy, sometimes (1 in 8) any JSON value, likely of the wrong type."""
    return st.integers(0, 7).flatmap(lambda n: json_values if n == 0 else strategy)


def encode(value: Any, *, ascii_only: bool) -> bytes:
    """JSON bytes; with ``ascii_only`` surrogates are escaped (``\\ud800``), without they are
    written raw, which is not valid UTF-8."""
    return json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
