"""Gunicorn's threaded worker with a read timeout on every connection.

Stock gthread waits at most 5 s for a new connection's first bytes, but once a request has
started it reads the request line and headers with no timeout: a client sending half a header
and going quiet holds a worker thread for as long as it keeps the connection open, and a few
hundred such clients hold them all. Here each connection's socket gets a read timeout whenever
a thread takes it, so a stalled header is dropped after `READ_TIMEOUT_SECONDS`
(HTTP_BODY_TIMEOUT_SECONDS, set by the server before the workers start). The body has its own
whole-body deadline in the router.
"""

from __future__ import annotations

import errno

from gunicorn.workers.gthread import TConn, ThreadWorker

READ_TIMEOUT_SECONDS = 10.0


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
