"""Gunicorn's threaded worker with a read timeout on every connection.

Stock gthread waits at most 5 s for a new connection's first bytes, but once a request has
started it reads the request line and headers with no timeout: a client sending half a header
and going quiet holds a worker thread for as long as it keeps the connection open, and a few
hundred such clients hold them all. Here each connection's socket gets a read timeout whenever
a thread takes it, so a stalled header is dropped after `READ_TIMEOUT_SECONDS`
(HTTP_BODY_TIMEOUT_SECONDS, set by the server before the workers start). The body has its own
whole-body deadline in the router.

`EdgeThreadWorker.accept` is a copy of gunicorn's `ThreadWorker.accept` and `_TimedConn`
subclasses gunicorn's private `TConn`, so both depend on gunicorn's internals. The copy is
tested with the releases in `TESTED_GUNICORN` (pyproject pins the same range); in each of them
`ThreadWorker.accept`, `TConn` and `ThreadWorker.handle` (which sets the socket blocking and
calls `TConn.init` each time a thread takes a connection) have exactly the source whose SHA-256
is in `UPSTREAM_SOURCE_SHA256`. `tests/test_edge_worker_gunicorn.py` fails on any other version
or source: compare the new upstream code with the copy, re-run the edge tests, then update the
pin, the versions and the hashes together.
"""

from __future__ import annotations

import errno

from gunicorn.workers.gthread import TConn, ThreadWorker

READ_TIMEOUT_SECONDS = 10.0

# gunicorn releases whose gthread code below was compared (sdists 26.2.0, 27.0.0, 27.0.1 hold
# byte-identical `TConn`, `ThreadWorker.accept` and `ThreadWorker.handle`; 26.1.0 and older
# differ in `TConn.init` and `handle`).
TESTED_GUNICORN = ("26.2.0", "27.0.0", "27.0.1")
# SHA-256 of `inspect.getsource(...)` of the upstream code this module copies or relies on.
UPSTREAM_SOURCE_SHA256 = {
    "ThreadWorker.accept": "f8dcead3dce5c8517c1d66740d7d1f4bd6d1f52af406483205121ac6c95e9458",
    "TConn": "e3a2878ba952710af2ffece8a5814c25d0e24da272696b0c7f67824e761e291e",
    "ThreadWorker.handle": "ca85c9be3df75da40ba6cd55181ef75a78b67c461b2a553455a40e676f4cce7f",
}


def _read_timeout() -> float:
    return READ_TIMEOUT_SECONDS  # read at each use: the server sets it after import


class _TimedConn(TConn):  # type: ignore[misc]
    def init(self) -> None:
        super().init()
        # gthread makes the socket blocking (no timeout) each time a thread takes the
        # connection, then calls init(): the timeout goes on after that, every time.
        self.sock.settimeout(_read_timeout())


class EdgeThreadWorker(ThreadWorker):  # type: ignore[misc]
    def accept(self, listener) -> None:  # type: ignore[no-untyped-def]
        """As ThreadWorker.accept, with a connection that reads with a timeout."""
        try:
            client_sock, client_addr = listener.accept()
            self.nr_conns += 1
            client_sock.setblocking(True)
            conn = _TimedConn(self.cfg, client_sock, client_addr, listener.getsockname())
            self.enqueue_req(conn)
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
