"""A TCP proxy in front of a real server (PostgreSQL in the drills) that can fail like a network.

`forward()` passes bytes both ways. `refuse()` is a database that is down: the port is closed,
so a new connection is refused at once, and every open connection is reset. `black_hole()` is a
partition, or a server that stopped answering: new connections are accepted and then never
answered, and on open connections bytes go nowhere in either direction; a connection that lost
bytes this way is reset when forwarding resumes (its protocol state is lost, as after a real
partition that outlasted TCP's patience).

Any number of clients; one thread per direction per connection. Used by tests that start real
processes, so everything it does is on the wire.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import threading
from dataclasses import dataclass, field

FORWARD, REFUSE, BLACK_HOLE = "forward", "refuse", "black hole"


@dataclass(eq=False)
class _Pair:
    client: socket.socket
    upstream: socket.socket | None
    lost_bytes: bool = False
    closed: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def sockets(self) -> list[socket.socket]:
        return [s for s in (self.client, self.upstream) if s is not None]


def _reset(sock: socket.socket) -> None:
    """Close with an RST (linger 0), as a crashed or restarted server's host does."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()


class TcpProxy:
    """Listens on 127.0.0.1:`port` (a free one by default) and forwards to `target`."""

    def __init__(self, target_host: str, target_port: int, port: int = 0) -> None:
        self.target = (target_host, target_port)
        self.mode = FORWARD
        self._lock = threading.Lock()
        self._pairs: set[_Pair] = set()
        self._listener: socket.socket | None = None
        self._stopped = False
        self.port = port
        self._listen()

    # --- modes ---------------------------------------------------------------------------
    def forward(self) -> None:
        with self._lock:
            self.mode = FORWARD
            desynced = [p for p in self._pairs if p.lost_bytes]
        for pair in desynced:
            self._close(pair)
        if self._listener is None:
            self._listen()

    def refuse(self) -> None:
        with self._lock:
            self.mode = REFUSE
            listener, self._listener = self._listener, None
            pairs = list(self._pairs)
        if listener is not None:
            # shutdown() first: a thread blocked in accept() keeps a closed socket listening.
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        for pair in pairs:
            self._close(pair)

    def black_hole(self) -> None:
        with self._lock:
            self.mode = BLACK_HOLE
        if self._listener is None:
            self._listen()

    def close(self) -> None:
        self._stopped = True
        self.refuse()

    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._pairs)

    # --- plumbing ------------------------------------------------------------------------
    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self.port = listener.getsockname()[1]
        with self._lock:
            self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _addr = listener.accept()
            except OSError:
                return  # the listener was closed (refuse or close)
            with self._lock:
                mode = self.mode
            upstream = None
            if mode == FORWARD:
                try:
                    upstream = socket.create_connection(self.target, timeout=5)
                    upstream.settimeout(None)
                except OSError:
                    _reset(client)
                    continue
            pair = _Pair(client, upstream, lost_bytes=upstream is None)
            with self._lock:
                self._pairs.add(pair)
            threading.Thread(target=self._pump, args=(pair, client, True), daemon=True).start()
            if upstream is not None:
                threading.Thread(
                    target=self._pump, args=(pair, upstream, False), daemon=True
                ).start()

    def _pump(self, pair: _Pair, source: socket.socket, from_client: bool) -> None:
        while not pair.closed:
            try:
                ready, _w, _x = select.select([source], [], [], 0.2)
            except (OSError, ValueError):
                break
            if not ready:
                continue
            try:
                data = source.recv(65536)
            except OSError:
                break
            if not data:
                break
            with self._lock:
                mode = self.mode
            target = pair.upstream if from_client else pair.client
            if mode != FORWARD or target is None:
                pair.lost_bytes = True  # into the hole
                continue
            try:
                target.sendall(data)
            except OSError:
                break
        self._close(pair)

    def _close(self, pair: _Pair) -> None:
        with pair.lock:
            if pair.closed:
                return
            pair.closed = True
        with self._lock:
            self._pairs.discard(pair)
        for sock in pair.sockets():
            _reset(sock)
