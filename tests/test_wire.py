"""The reload line's frames say what ``Session.serialize`` would, and pass its signature check."""

from __future__ import annotations

import warnings
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from jupyter_client.session import Session, json_packer

from reload_kernel.wire import stream_frames

TOPIC = b"kernel.1234.stream"


def request(session: Session, date: datetime | None = None) -> dict[str, Any]:
    """An execute_request as the kernel holds it: received, dates read back as datetimes."""
    sender = Session(key=session.key, packer=session.packer, unpacker=session.unpacker)
    frames = sender.serialize(sender.msg("execute_request", {"code": "pass"}))
    received = session.deserialize(frames[frames.index(b"<IDS|MSG>") + 1 :])
    if date is not None:
        received["header"]["date"] = date
    return received


def received(session: Session, frames: list[bytes]) -> dict[str, Any]:
    """The message a frontend reads from ``frames`` (after the topic and the delimiter);
    raises when the signature is wrong."""
    assert frames[0] == TOPIC
    delimiter = frames.index(b"<IDS|MSG>")
    message: dict[str, Any] = session.deserialize(frames[delimiter + 1 :])
    return message


@pytest.mark.parametrize("key", [b"a secret", b""], ids=["signed", "unsigned"])
@pytest.mark.parametrize(
    "text", ["↻ reloaded shapes (area)\n", 'quotes " \\ and a\ttab\n', "NaN Infinity\n"]
)
def test_the_frames_read_back_as_the_session_would_send_them(key: bytes, text: str) -> None:
    session = Session(key=key)
    parent = request(session)

    message = received(session, stream_frames(session, parent, TOPIC, "stderr", text))

    assert message["msg_type"] == "stream"
    assert message["content"] == {"name": "stderr", "text": text}
    assert message["parent_header"] == parent["header"]
    assert message["header"]["session"] == session.session
    assert message["header"]["date"].tzinfo is not None
    assert message["metadata"] == {}


def test_dates_in_other_zones_keep_their_instant() -> None:
    session = Session(key=b"k")
    zoned = datetime(2026, 11, 26, 17, 30, tzinfo=timezone(timedelta(hours=2)))

    message = received(
        session, stream_frames(session, request(session, zoned), TOPIC, "stderr", "x")
    )

    assert message["parent_header"]["date"] == zoned


@pytest.mark.parametrize(
    "unusual",
    [
        pytest.param({"date": datetime(2026, 11, 26, 17, 30)}, id="a-date-without-zone"),
        pytest.param({"score": float("nan")}, id="not-a-number"),
    ],
)
def test_what_json_cannot_write_plainly_is_left_to_the_session(unusual: dict[str, Any]) -> None:
    session = Session(key=b"k")
    parent = request(session)
    parent["header"].update(unusual)
    by_the_session: list[Any] = []
    serialize = session.serialize

    def recording(message: dict[str, Any], ident: Any = None) -> list[bytes]:
        by_the_session.append(message)
        return serialize(message, ident)

    session.serialize = recording  # type: ignore[method-assign]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (jupyter_client's own, about such values)
        frames = stream_frames(session, parent, TOPIC, "stderr", "x")

    assert len(by_the_session) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert received(session, frames)["content"]["text"] == "x"


def test_another_packer_is_left_to_the_session() -> None:
    session = Session(key=b"k", packer="pickle")
    parent = request(session)

    frames = stream_frames(session, parent, TOPIC, "stderr", "x")

    assert session.pack is not json_packer
    assert received(session, frames)["content"] == {"name": "stderr", "text": "x"}
