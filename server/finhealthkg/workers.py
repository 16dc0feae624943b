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

ARRIVING_BYTES = 32 * 2**20  # bytes of requests still coming in a worker holds at most; past it threads read on
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_CONTENT_LENGTH = re.compile(rb"^content-length[ \t]*:[ \t]*([0-9]+)[ \t]*\r?$", re.I | re.M)
_TRANSFER_ENCODING = re.compile(rb"^transfer-encoding[ \t]*:([^\r\n]*)", re.I | re.M)
_EXPECT = re.compile(rb"^expect[ \t]*:([^\r\n]*)\r?\n", re.I | re.M)
_HTTP_11 = re.compile(rb"^[^\r\n]* HTTP/1\.1\r?$", re.M)
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


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
    continued: bool = False  # `100 Continue` sent: the client's Expect is answered


def _chunks_end(data: bytearray, at: int, most: int) -> bool:
    """Whether a chunked body starting at `at` has ended (its last chunk and trailers are in),
    or cannot be read (a bad size line, more than `most` bytes): a thread takes it then."""
    total = 0
    while True:
        line_end = data.find(b"\n", at)
        if line_end < 0:
            return len(data) - at > 1024  # a size line longer than any: refused by the thread
        try:
            size = int(bytes(data[at:line_end]).split(b";", 1)[0].strip(), 16)
        except ValueError:
            return True
        at = line_end + 1
        if size == 0:  # trailers, then an empty line
            while True:
                line_end = data.find(b"\n", at)
                if line_end < 0:
                    return False
                if data[at:line_end].strip(b"\r") == b"":
                    return True
                at = line_end + 1
        total += size
        if total > most:
            return True
        at += size + 2  # the data and its CRLF
        if at > len(data):
            return False


def _answered_expect(arriving: _Arriving) -> bytes:
    """The bytes for the thread: with the Expect field taken out when it was answered here, so
    that gunicorn does not send a second `100 Continue`."""
    data = bytes(arriving.data)
    if not arriving.continued:
        return data
    end = _HEAD_END.search(data)
    return _EXPECT.sub(b"", data[:end.start()] + b"\r\n", count=1) + data[end.start() + 2:] if end else data


class GracefulThreadWorker(ThreadWorker):
    """gunicorn's gthread worker, but a slow client cannot hold up the others.

    A thread is given to a request only once the whole of it has arrived: its head, and its
    body up to `body_bytes` (--max-body-bytes), by Content-Length or chunked; a client that
    expects `100 Continue` is sent it from the loop.
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
        arriving = _Arriving(time.monotonic() + self.client_seconds)
        if conn.parser is not None:  # the last request's reading may have taken in some of this one
            arriving.data += conn.parser.unreader.take_buffered()
            self._arriving_bytes += len(arriving.data)
        self._arriving[conn] = arriving
        self._read_more(conn)

    def _read_more(self, conn, *_) -> None:  # noqa: ANN001, ANN002 - a TConn; the poller's arguments
        arriving = self._arriving[conn]
        ended = False
        try:
            while len(arriving.data) < self.head_limit + self.body_bytes and self._arriving_bytes < ARRIVING_BYTES:
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
        if ended or self._arriving_bytes >= ARRIVING_BYTES or self._ready(conn, arriving):
            self._forget(conn, arriving)
            self._to_a_thread(conn, _answered_expect(arriving))
        elif not arriving.watched:
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._read_more, conn))
            arriving.watched = True

    @property
    def head_limit(self) -> int:
        """The longest request head gunicorn reads (its request line and fields limits)."""
        cfg = self.cfg
        if not cfg.limit_request_line or not cfg.limit_request_field_size:
            return 2**20  # unlimited there: a mebibyte here, and a thread reads on
        return cfg.limit_request_line + 2 + cfg.limit_request_fields * (cfg.limit_request_field_size + 2) + 2

    def _ready(self, conn, arriving: _Arriving) -> bool:  # noqa: ANN001 - a TConn
        """Whether a thread may take the request: it is here whole, head and body, or it is one a
        thread refuses at once (a head or body too long, a length given twice or not chunked).
        A client that expects `100 Continue` is sent it from here, when its head is in."""
        data = arriving.data
        if len(data) >= self.head_limit + self.body_bytes:
            return True
        end = _HEAD_END.search(data, 0, self.head_limit)
        if end is None:
            return len(data) >= self.head_limit
        head = bytes(data[:end.start()])
        expect = _EXPECT.search(head + b"\r\n")
        if expect is not None:
            if expect.group(1).strip().lower() != b"100-continue" or not _HTTP_11.search(head.split(b"\n", 1)[0]):
                return True  # gunicorn answers 417, or ignores it (HTTP/1.0)
            if not arriving.continued:
                try:
                    conn.sock.send(CONTINUE, socket.MSG_DONTWAIT)
                except OSError:
                    return True
                arriving.continued = True
        coding = _TRANSFER_ENCODING.search(head)
        if coding is not None:
            return b"chunked" not in coding.group(1).lower() or _chunks_end(data, end.end(), self.body_bytes)
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
