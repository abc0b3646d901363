"""The reload line's stream message, made into wire frames cheaply.

A reload line is sent while the cell waits: ipykernel flushes IOPub before each reply, so
making and sending the message is part of the cell's time. ``Session.send`` costs ~115 µs a
message (measured with jupyter_client 8.10 on Python 3.11): its default packer builds a new
JSON encoder for each of the four parts (a ``default`` function and non-default options
defeat ``json``'s cached encoder). The same frames made with the cached encoder cost a third
of that. Any other packer (orjson, msgpack, one the user configured) is left to the session.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from jupyter_client.session import DELIM, Session, json_packer

_PARTS = ("header", "parent_header", "metadata", "content")


def stream_frames(
    session: Session, parent: dict[str, Any], topic: bytes, name: str, text: str
) -> list[bytes]:
    """The frames of a ``stream`` message (``name``: stdout or stderr) that ``parent``
    caused, as ``session.serialize`` makes them, signed, for an IOPub socket."""
    message = session.msg("stream", {"name": name, "text": text}, parent=parent)
    if session.pack is json_packer:
        try:
            parts = [_packed(message[part]) for part in _PARTS]
            return [topic, DELIM, session.sign(parts), *parts]
        except (TypeError, ValueError):  # a value only json_packer's own handling can write
            pass
    frames: list[bytes] = session.serialize(message, ident=topic)
    return frames


def _packed(part: dict[str, Any]) -> bytes:
    """``json_packer(part)`` for a part whose only value not JSON is a header's date (else
    TypeError or ValueError)."""
    date = part.get("date")
    if isinstance(date, datetime):
        if date.tzinfo is None:
            raise TypeError("a date without a time zone")  # (json_packer assumes local time)
        part = {**part, "date": date.isoformat().replace("+00:00", "Z")}
    return _ENCODER.encode(part).encode()


#: Made once (``json.dumps`` makes an encoder per call when given any option). NaN and the
#: infinities are refused, as ``json_packer`` refuses them.
_ENCODER = json.JSONEncoder(allow_nan=False)
