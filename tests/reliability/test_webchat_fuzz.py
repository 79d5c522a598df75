"""Fuzzing the web chat API: whatever arrives, the answer is 200 with replies or a 4xx with
the fixed bilingual ``detail`` (input never echoed), never a 5xx, and a refused request
leaves no conversation state behind."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
from hypothesis import example, given
from hypothesis import strategies as st

from bot.bootstrap import App
from tests.reliability.conftest import fuzz, states
from tests.reliability.strategies import (
    NASTY,
    encode,
    json_values,
    maybe,
    sessions,
    text,
    text_with_surrogates,
)

DETAILS = {
    400: {"Yêu cầu không hợp lệ. / Invalid request.", "Tin nhắn trống. / Empty message."},
    413: {"Tin nhắn quá lớn. / Message too large."},
}
CONTENT_TYPES = [
    "application/json",
    "application/json; charset=latin-1",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=xyz",
    "application/octet-stream",
    "",
]

locations = st.fixed_dictionaries(
    {"latitude": maybe(st.floats()), "longitude": maybe(st.floats())},
    optional={"altitude": json_values},
)
messages = st.fixed_dictionaries(
    {"session": maybe(sessions)},
    optional={
        "text": maybe(text_with_surrogates),
        "payload": maybe(text_with_surrogates),
        "location": maybe(locations),
        "locale": maybe(st.sampled_from(["vi", "en", "fr", "VI", "", "vi-VN"])),
        "admin": json_values,
    },
)


def valid_session() -> str:
    return uuid.uuid4().hex


bodies = st.one_of(
    st.builds(encode, messages, ascii_only=st.booleans()),
    st.builds(encode, json_values, ascii_only=st.booleans()),
    st.binary(max_size=300),
    st.sampled_from(
        [
            b"",
            b"null",
            b"{",
            b'{"session": "' + b"a" * 30 + b'", "text": "\\ud800"}',
            b'{"session": "' + b"a" * 30 + b'", "text": "\\udc00\\ud800"}',
            b'{"session": "' + b"a" * 30 + b'", "text": "a\\u0000b"}',
            b'{"session": "' + b"a" * 30 + b'", "location": {"latitude": NaN, "longitude": 1}}',
            b'{"session": "' + b"a" * 30 + b'", "location": {"latitude": 1e999, "longitude": 1}}',
            b'{"session": "' + b"a" * 30 + b'", "text": "x", "text": "y"}',
            b"[" * 5000 + b"]" * 5000,
            b'{"a":' * 3000 + b"1" + b"}" * 3000,
            b"\xef\xbb\xbf{}",
            b"\xff\xfe{\x00}\x00",
        ]
    ),
)


def assert_refusal(response: httpx.Response) -> None:
    assert 400 <= response.status_code < 500, response.status_code
    body = response.json()
    assert set(body) == {"detail"}
    # The detail is one of the fixed bilingual texts: nothing of the request is echoed.
    assert body["detail"] in DETAILS.get(response.status_code, set()), body


def assert_replies(response: httpx.Response) -> None:
    assert response.status_code == 200
    replies = response.json()["replies"]
    assert replies and all(reply["text"].strip() for reply in replies)


@fuzz(60)
@given(body=bodies, content_type=st.sampled_from(CONTENT_TYPES))
@example(
    body=b'{"session": "' + b"s" * 40 + b'", "text": "' + b"x" * 70_000 + b'"}',
    content_type="application/json",
)
@example(body=b"x" * (64 * 1024 + 1), content_type="text/plain")
@example(
    body=json.dumps({"session": "s" * 40, "text": "x" * 20_001}).encode(),
    content_type="application/json",
)
async def test_post_chat_with_random_bodies(
    app: App, client: httpx.AsyncClient, body: bytes, content_type: str
) -> None:
    before = await states(app)
    headers = {"content-type": content_type} if content_type else {}
    response = await client.post("/api/chat", content=body, headers=headers)
    assert response.status_code < 500
    if response.status_code == 200:
        assert_replies(response)
    else:
        assert_refusal(response)
        assert await states(app) == before


@fuzz(40)
@given(
    turns=st.lists(
        st.one_of(
            st.fixed_dictionaries({"text": text}),
            st.fixed_dictionaries(
                {"payload": st.one_of(st.sampled_from(NASTY), st.text(max_size=64))}
            ),
            st.fixed_dictionaries(
                {
                    "location": st.fixed_dictionaries(
                        {
                            "latitude": st.floats(-90, 90),
                            "longitude": st.floats(-180, 180),
                        }
                    )
                }
            ),
        ),
        min_size=1,
        max_size=6,
    ),
    locale=st.sampled_from([None, "vi", "en"]),
)
async def test_valid_messages_with_random_content_are_always_answered(
    client: httpx.AsyncClient, turns: list[dict[str, Any]], locale: str | None
) -> None:
    session = valid_session()
    for turn in turns:
        message = {"session": session, **turn}
        if locale:
            message["locale"] = locale
        response = await client.post("/api/chat", json=message)
        if response.status_code == 200:
            assert_replies(response)
        else:  # only an over-long text or payload may be refused
            assert_refusal(response)
            assert len(turn.get("text") or "") > 20_000 or len(turn.get("payload") or "") > 64


photo_fields = st.fixed_dictionaries(
    {},
    optional={
        "session": st.one_of(sessions, st.just("VALID")),
        "locale": st.sampled_from(["vi", "en", "xx", "", "vi\x00"]),
        "extra": text,
    },
)


@fuzz(40)
@given(
    fields=photo_fields,
    data=st.one_of(
        st.binary(max_size=600),
        st.sampled_from([b"", b"\xff\xd8\xff\xe0" + b"\x00" * 64, b"GIF89a" + b"\x00" * 20]),
    ),
    mime=st.sampled_from(["image/jpeg", "image/png", "text/plain", "application/x-evil", ""]),
    filename=st.one_of(st.sampled_from(NASTY[:14]), st.text(max_size=40)),
    field=st.sampled_from(["file", "photo", "files"]),
)
async def test_post_photo_with_random_multipart(
    app: App,
    client: httpx.AsyncClient,
    fields: dict[str, str],
    data: bytes,
    mime: str,
    filename: str,
    field: str,
) -> None:
    if fields.get("session") == "VALID":
        fields["session"] = valid_session()
    before = await states(app)
    files = {field: (filename, data, mime) if mime else (filename, data)}
    try:
        request = client.build_request("POST", "/api/chat/photo", data=fields, files=files)
    except (UnicodeEncodeError, ValueError):
        return  # httpx cannot even encode it (a NUL or surrogate in a header value)
    response = await client.send(request)
    assert response.status_code < 500
    if response.status_code == 200:
        assert_replies(response)
    else:
        assert_refusal(response)
        assert await states(app) == before


@fuzz(30)
@given(
    body=st.one_of(bodies, st.builds(encode, messages, ascii_only=st.just(True))),
    content_type=st.sampled_from(
        [*CONTENT_TYPES, "multipart/form-data", "multipart/form-data; boundary="]
    ),
)
async def test_post_photo_with_non_multipart_bodies(
    app: App, client: httpx.AsyncClient, body: bytes, content_type: str
) -> None:
    before = await states(app)
    headers = {"content-type": content_type} if content_type else {}
    response = await client.post("/api/chat/photo", content=body, headers=headers)
    assert_refusal(response)
    assert await states(app) == before
