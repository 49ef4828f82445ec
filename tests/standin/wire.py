"""PostgreSQL v3 wire protocol: message framing and the few messages the proxy builds.

Only what the Redshift stand-in needs; see https://www.postgresql.org/docs/15/protocol.html.
"""

from __future__ import annotations

import select
import socket
import ssl
import struct
from dataclasses import dataclass, field

SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
CANCEL_REQUEST = 80877102
PROTOCOL_3 = 196608

# Error/notice field codes (protocol section 55.8).
F_SEVERITY = "S"
F_SEVERITY_V = "V"
F_CODE = "C"
F_MESSAGE = "M"
F_DETAIL = "D"
F_HINT = "H"
F_POSITION = "P"
F_WHERE = "W"

_I32 = struct.Struct("!i")
_HDR = struct.Struct("!ci")


class ConnectionClosed(Exception):
    """The peer closed its end of the connection."""


def pending_bytes(sock: socket.socket) -> int:
    """Bytes already decrypted inside an SSL socket: select() cannot see them."""
    return sock.pending() if isinstance(sock, ssl.SSLSocket) else 0


class MessageReader:
    """Buffered reader of typed messages (Byte1 type, Int32 length, payload)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = bytearray()
        self.pos = 0

    def fill(self) -> None:
        """One recv() into the buffer; raises ConnectionClosed at end of stream."""
        data = self.sock.recv(262144)
        if not data:
            raise ConnectionClosed()
        if self.pos and self.pos >= len(self.buf) // 2:
            # Compact now and then: keeps the buffer small without copying per message.
            del self.buf[: self.pos]
            self.pos = 0
        self.buf += data

    def readable_now(self) -> bool:
        """A complete message is buffered, or bytes wait in the socket (non-blocking check)."""
        if self.has_message() or pending_bytes(self.sock):
            return True
        ready, _, _ = select.select([self.sock], [], [], 0)
        return bool(ready)

    def has_message(self) -> bool:
        avail = len(self.buf) - self.pos
        if avail < 5:
            return False
        length: int = _I32.unpack_from(self.buf, self.pos + 1)[0]
        return avail >= 1 + length

    def next_raw(self) -> tuple[bytes, bytes] | None:
        """The next complete message as (type, whole message bytes), or None."""
        if not self.has_message():
            return None
        (length,) = _I32.unpack_from(self.buf, self.pos + 1)
        start = self.pos
        self.pos += 1 + length
        return bytes(self.buf[start : start + 1]), bytes(self.buf[start : self.pos])

    def read_raw(self) -> tuple[bytes, bytes]:
        """Blocking: the next message as (type, whole message bytes)."""
        while not self.has_message():
            self.fill()
        return self.next_raw()  # type: ignore[return-value]

    def read(self) -> tuple[bytes, bytes]:
        """Blocking: the next message as (type, payload)."""
        kind, raw = self.read_raw()
        return kind, raw[5:]

    def read_startup(self) -> bytes:
        """Blocking: an untyped startup-phase packet (Int32 length, body); returns the body."""
        while len(self.buf) - self.pos < 4:
            self.fill()
        (length,) = _I32.unpack_from(self.buf, self.pos)
        if length < 8 or length > 10000:
            raise ConnectionClosed()
        while len(self.buf) - self.pos < length:
            self.fill()
        body = bytes(self.buf[self.pos + 4 : self.pos + length])
        self.pos += length
        return body

    def leftover(self) -> bytes:
        """Buffered bytes not yet consumed (before wrapping a socket in TLS there must be none)."""
        return bytes(self.buf[self.pos :])


def message(kind: bytes, payload: bytes = b"") -> bytes:
    return _HDR.pack(kind, len(payload) + 4) + payload


def cstr(value: str) -> bytes:
    return value.encode("utf-8") + b"\0"


def split_cstrings(payload: bytes) -> list[str]:
    return [part.decode("utf-8", "replace") for part in payload.split(b"\0")]


def parse_startup(body: bytes) -> tuple[int, dict[str, str]]:
    (code,) = _I32.unpack_from(body, 0)
    params: dict[str, str] = {}
    parts = body[4:].split(b"\0")
    for i in range(0, len(parts) - 1, 2):
        if not parts[i]:
            break
        params[parts[i].decode("utf-8", "replace")] = parts[i + 1].decode("utf-8", "replace")
    return code, params


def build_startup(params: dict[str, str]) -> bytes:
    body = _I32.pack(PROTOCOL_3) + b"".join(cstr(k) + cstr(v) for k, v in params.items()) + b"\0"
    return _I32.pack(len(body) + 4) + body


@dataclass
class Fields:
    """The fields of an ErrorResponse or NoticeResponse, in order."""

    items: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def parse(cls, payload: bytes) -> Fields:
        items = []
        for part in payload.split(b"\0"):
            if part:
                items.append((chr(part[0]), part[1:].decode("utf-8", "replace")))
        return cls(items)

    def get(self, code: str, default: str = "") -> str:
        for key, value in self.items:
            if key == code:
                return value
        return default

    def only(self, codes: str) -> Fields:
        return Fields([(k, v) for k, v in self.items if k in codes])

    def encode(self) -> bytes:
        return b"".join(k.encode() + cstr(v) for k, v in self.items) + b"\0"


def error_fields(sqlstate: str, text: str, detail: str | None = None, severity: str = "ERROR") -> Fields:
    items = [(F_SEVERITY, severity), (F_SEVERITY_V, severity), (F_CODE, sqlstate), (F_MESSAGE, text)]
    if detail:
        items.append((F_DETAIL, detail))
    return Fields(items)


def error_response(fields: Fields) -> bytes:
    return message(b"E", fields.encode())


def notice_response(fields: Fields) -> bytes:
    return message(b"N", fields.encode())


def command_complete(tag: str) -> bytes:
    return message(b"C", cstr(tag))


def ready_for_query(status: bytes) -> bytes:
    return message(b"Z", status)


def parameter_status(name: str, value: str) -> bytes:
    return message(b"S", cstr(name) + cstr(value))


def query(sql: str) -> bytes:
    return message(b"Q", cstr(sql))


PARSE_COMPLETE = message(b"1")
BIND_COMPLETE = message(b"2")
CLOSE_COMPLETE = message(b"3")
NO_DATA = message(b"n")
NO_PARAMETERS = message(b"t", struct.pack("!h", 0))
SYNC = message(b"S")
COPY_DONE = message(b"c")


def copy_data_header(length: int) -> bytes:
    return _HDR.pack(b"d", length + 4)


def copy_fail(reason: str) -> bytes:
    return message(b"f", cstr(reason))


def parse_parse(payload: bytes) -> tuple[bytes, str]:
    """Parse message: (statement name, query text)."""
    end = payload.index(b"\0")
    name = payload[:end]
    qend = payload.index(b"\0", end + 1)
    return name, payload[end + 1 : qend].decode("utf-8", "replace")


def with_parse_query(raw: bytes, sql: str) -> bytes:
    """A whole Parse message with its query text replaced (name and parameter types kept)."""
    payload = raw[5:]
    end = payload.index(b"\0")
    qend = payload.index(b"\0", end + 1)
    return message(b"P", payload[: end + 1] + cstr(sql) + payload[qend + 1 :])


def parse_bind(payload: bytes) -> tuple[bytes, bytes]:
    """Bind message: (portal name, statement name)."""
    end = payload.index(b"\0")
    send = payload.index(b"\0", end + 1)
    return payload[:end], payload[end + 1 : send]


def parse_execute(payload: bytes) -> bytes:
    """Execute message: the portal name."""
    return payload[: payload.index(b"\0")]


def parse_describe_or_close(payload: bytes) -> tuple[bytes, bytes]:
    """Describe/Close: (b'S' or b'P', name)."""
    return payload[:1], payload[1 : payload.index(b"\0", 1)]
