"""Raw HTTP/1.1 over a socket: lets tests send what `urllib` refuses to (bad Content-Length,
half bodies, chunked bodies, odd header bytes) and read the answer."""

from __future__ import annotations

import contextlib
import json
import socket
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes
    elapsed: float

    def json(self) -> Any:
        return json.loads(self.body)


def address(base_url: str) -> tuple[str, int]:
    parsed = urlparse(base_url)
    return parsed.hostname or "127.0.0.1", parsed.port or 80


def request_bytes(
    method: str,
    target: str,
    headers: dict[str, str] | list[tuple[str, str]],
    body: bytes = b"",
    content_length: str | None = "auto",
) -> bytes:
    """The request as sent on the wire; `content_length` None leaves the header out, "auto"
    uses the body's length, anything else is sent verbatim."""
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    items = headers.items() if isinstance(headers, dict) else headers
    lines += [f"{k}: {v}" for k, v in items]
    if content_length == "auto":
        lines.append(f"Content-Length: {len(body)}")
    elif content_length is not None:
        lines.append(f"Content-Length: {content_length}")
    return b"\r\n".join(_wire(line) for line in lines) + b"\r\n\r\n" + body


def _wire(line: str) -> bytes:
    """Latin-1 bytes where possible (what WSGI decodes headers as), else UTF-8 bytes."""
    try:
        return line.encode("latin-1")
    except UnicodeEncodeError:
        return line.encode("utf-8")


def read_response(sock: socket.socket) -> RawResponse:
    start = time.perf_counter()
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    if not head:
        raise ConnectionError("the server closed the connection without answering")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "-1"))
    while length < 0 or len(rest) < length:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            break
        if not chunk:
            break
        rest += chunk
    body = rest[:length] if length >= 0 else rest
    return RawResponse(int(status_line.split()[1]), headers, body, time.perf_counter() - start)


def send(base_url: str, raw: bytes, timeout: float = 15.0) -> RawResponse:
    with socket.create_connection(address(base_url), timeout=timeout) as sock:
        # The server may answer and close before taking the whole body.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(raw)
        return read_response(sock)
