"""gunicorn's workers as the server runs them (serve.py): they stop listening as soon as they
are told to stop, and a slow client cannot hold up the others.

gunicorn's master closes its listening sockets on SIGTERM, but each worker holds the same
sockets until it exits: connections made meanwhile wait in the backlog and are reset when the
last worker is done. These workers let go of the listening sockets as soon as they are told to
stop, so the port refuses new connections while the requests in flight finish.
"""

from __future__ import annotations

import errno
import os
import re
import selectors
import socket
import struct
import time
from dataclasses import dataclass, field
from functools import partial

from gunicorn import http
from gunicorn.workers.gthread import ThreadWorker
from gunicorn.workers.sync import SyncWorker

HEAD_LIMIT = 64 * 1024  # bytes of a request head waited for; past it a thread reads on (and gunicorn refuses it)
ARRIVING_BYTES = 32 * 2**20  # bytes of requests still coming in a worker holds at most; past it threads read on
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_CONTENT_LENGTH = re.compile(rb"^content-length[ \t]*:[ \t]*([0-9]{1,12})[ \t]*\r?$", re.I | re.M)
_TRANSFER_ENCODING = re.compile(rb"^transfer-encoding[ \t]*:", re.I | re.M)
_EXPECT = re.compile(rb"^expect[ \t]*:", re.I | re.M)  # 100-continue: the client waits to be asked for its body


class GracefulSyncWorker(SyncWorker):
    def handle_exit(self, sig, frame) -> None:  # noqa: ANN001 - a signal handler
        super().handle_exit(sig, frame)  # not alive: the loop ends after the request in flight
        # In a signal handler the listening socket may be in use by select() or accept(): its file
        # descriptor is pointed at a fresh socket that listens nowhere, rather than closed.
        for listener in self.sockets:
            try:
                placeholder = socket.socket(listener.family, socket.SOCK_STREAM)
                os.dup2(placeholder.fileno(), listener.fileno(), inheritable=False)
                placeholder.close()
            except OSError:
                pass

    def accept(self, listener) -> None:  # noqa: ANN001 - a gunicorn listener
        try:
            super().accept(listener)
        except OSError as error:
            if self.alive or error.errno not in (errno.EINVAL, errno.EBADF):
                raise  # accept() on the placeholder when stopping is expected; nothing else


@dataclass
class _Arriving:
    """A request still coming in: the bytes so far, and until when the rest may take."""

    deadline: float
    data: bytearray = field(default_factory=bytearray)
    watched: bool = False


class GracefulThreadWorker(ThreadWorker):
    """gunicorn's gthread worker, but a slow client cannot hold up the others.

    A thread is given to a request only once the whole of it has arrived: its head, and its
    body when the head gives a Content-Length of at most `body_bytes` (--max-body-bytes).
    Until then the worker's own loop reads what comes, without a thread, and a request not
    whole `client_seconds` (--client-timeout) after it began is dropped, however its bytes
    trickle in (as nginx's client_header_timeout); a worker holds at most ARRIVING_BYTES of
    such requests, beyond which threads read the rest. A worker accepts a new connection only while
    it has a thread free, so connections it could not serve at once are left to the other
    workers, not queued behind busy threads. A thread writing an answer the client does not
    take is freed after `client_seconds` without progress (the kernel's SO_SNDTIMEO: gunicorn
    puts its sockets back in blocking mode on every request, which would undo a Python-level
    timeout). A public endpoint still needs the buffering front (deploy/nginx/): this keeps one
    server usable with slow clients about, not open to the world.
    """

    client_seconds = 10  # set from Settings.client_timeout before the workers are forked
    body_bytes = 1024 * 1024  # set from Settings.max_body_bytes

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003 - gunicorn's
        self._busy = 0  # connections handed to the thread pool, not yet finished
        self._arriving: dict[object, _Arriving] = {}
        self._arriving_bytes = 0  # held in all of them
        super().__init__(*args, **kwargs)

    # gunicorn's run loop accepts while `nr_conns < worker_connections`: read as "a thread is free"
    @property
    def worker_connections(self) -> int:
        free = self._busy < self.cfg.threads and self.nr_conns < self.cfg.worker_connections
        return self.nr_conns + 1 if free else 0

    @worker_connections.setter
    def worker_connections(self, value: int) -> None:
        pass  # gunicorn's __init__ sets it from the configuration; the property above decides

    def enqueue_req(self, conn) -> None:  # noqa: ANN001 - a gunicorn TConn
        """A new connection, or a kept-alive one with bytes to read: to a thread once its request is whole."""
        if not getattr(conn, "finhealthkg_timeouts", False):
            timeout = struct.pack("ll", self.client_seconds, 0)  # struct timeval
            conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeout)
            conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeout)
            conn.finhealthkg_timeouts = True
        if conn.parser is not None and conn.parser.unreader.buf.getvalue():
            self._to_a_thread(conn, b"")  # the last request's reading took in the next one already
            return
        self._arriving[conn] = _Arriving(time.monotonic() + self.client_seconds)
        self._read_more(conn)

    def _read_more(self, conn, *_) -> None:  # noqa: ANN001, ANN002 - a TConn; the poller's arguments
        arriving = self._arriving[conn]
        ended = False
        try:
            while len(arriving.data) < HEAD_LIMIT + self.body_bytes and self._arriving_bytes < ARRIVING_BYTES:
                chunk = conn.sock.recv(65536, socket.MSG_DONTWAIT)
                if not chunk:
                    ended = True  # the client closed: the thread sees the end and lets go
                    break
                arriving.data += chunk
                self._arriving_bytes += len(chunk)
        except BlockingIOError:
            pass
        except OSError:
            ended = True
        if ended or self._arriving_bytes >= ARRIVING_BYTES or self._whole(arriving.data):
            self._forget(conn, arriving)
            self._to_a_thread(conn, bytes(arriving.data))
        elif not arriving.watched:
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._read_more, conn))
            arriving.watched = True

    def _whole(self, data: bytearray) -> bool:
        """Whether a thread may take the request: its head is here, and its body unless it is
        chunked, longer than a request may be (the thread refuses those at once), or waits for
        `100 Continue` (which gunicorn sends when the app reads the body)."""
        end = _HEAD_END.search(data, 0, HEAD_LIMIT)
        if end is None:
            return len(data) >= HEAD_LIMIT
        head = bytes(data[:end.start()])
        if _TRANSFER_ENCODING.search(head) or _EXPECT.search(head):
            return True
        lengths = _CONTENT_LENGTH.findall(head)
        if len(lengths) != 1 or int(lengths[0]) > self.body_bytes:
            return True  # none, two (refused), or too long (413)
        return len(data) - end.end() >= int(lengths[0])

    def _to_a_thread(self, conn, data: bytes) -> None:  # noqa: ANN001 - a TConn
        if conn.parser is None:
            conn.parser = http.get_parser(self.cfg, conn.sock, conn.client)  # as TConn.init would
        if data:
            conn.parser.unreader.unread(data)
        conn.data_ready = True  # gunicorn's thread would wait for bytes on the socket: they are read
        self._busy += 1
        super().enqueue_req(conn)

    def _stop_watching(self, conn, arriving: _Arriving) -> None:  # noqa: ANN001 - a TConn
        if arriving.watched:
            try:
                self.poller.unregister(conn.sock)
            except (KeyError, ValueError, OSError):
                pass
            arriving.watched = False

    def murder_pending(self) -> None:
        """gunicorn's, and requests not whole in time: closed (called once a loop)."""
        super().murder_pending()
        now = time.monotonic()
        for conn, arriving in list(self._arriving.items()):
            if now > arriving.deadline:
                self._drop(conn, arriving)
                self.log.info("closed the connection of a client whose request was not whole after %s s",
                              self.client_seconds)

    def _forget(self, conn, arriving: _Arriving) -> None:  # noqa: ANN001 - a TConn
        self._stop_watching(conn, arriving)
        del self._arriving[conn]
        self._arriving_bytes -= len(arriving.data)

    def _drop(self, conn, arriving: _Arriving) -> None:  # noqa: ANN001 - a TConn
        self._forget(conn, arriving)
        self.nr_conns -= 1
        conn.close()

    def finish_request(self, conn, fs) -> None:  # noqa: ANN001 - gunicorn's
        self._busy -= 1
        super().finish_request(conn, fs)

    def handle_exit(self, sig, frame) -> None:  # noqa: ANN001 - a signal handler
        # The event loop, not the signal handler, stops listening (through gunicorn's method
        # queue; an older gunicorn without one is left to its own way of stopping).
        if self.alive and hasattr(self, "method_queue"):
            self.method_queue.defer(self._stop_listening)
        super().handle_exit(sig, frame)

    def _stop_listening(self) -> None:
        self.set_accept_enabled(False)
        for listener in self.sockets:
            listener.close()
        for conn, arriving in list(self._arriving.items()):  # requests not whole: none will be answered
            self._drop(conn, arriving)
