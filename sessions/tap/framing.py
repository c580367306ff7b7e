"""Length-prefixed pickled messages between the tap and its helper processes, and an outbox that
never makes the caller wait for the other side (within a bound)."""

from __future__ import annotations

import pickle
import socket
import struct
import threading
from collections import deque

_HEADER = struct.Struct("!I")
# One frame from the outbox holds at most this much of its queue (what the receiver unpickles
# at once), except a single larger message.
SLICE_BYTES = 1 << 20


def frame(message) -> bytes:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(data)) + data


def send(sock: socket.socket, message) -> None:
    # The header apart: joined to it, a frame of several MiB was copied once more.
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    sock.sendall(_HEADER.pack(len(data)))
    sock.sendall(data)


def _recv_exact(sock: socket.socket, size: int) -> bytes | None:
    chunks = []
    while size:
        chunk = sock.recv(min(size, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def recv(sock: socket.socket):
    """The next message, or None once the other side has closed (or died)."""
    header = _recv_exact(sock, _HEADER.size)
    if header is None:
        return None
    data = _recv_exact(sock, _HEADER.unpack(header)[0])
    return None if data is None else pickle.loads(data)


class Outbox:
    """Messages to a socket; ``put()`` returns at once while fewer than ``max_bytes`` wait.

    The caller (the tap's reader) sends a message itself when nothing is queued and the socket
    takes it without waiting; otherwise it is queued and a sender thread writes the queue, all
    of it as one message (a list), outside the interpreter lock while the socket is full. Every
    message is a list of tuples, so the receiver handles both alike. Beyond ``max_bytes`` of
    queued frames ``put()`` waits: memory stays bounded when the other side stops reading.
    """

    def __init__(self, sock: socket.socket, *, max_bytes: int, name: str = "streamtap-outbox"):
        self.sock = sock
        self.max_bytes = max_bytes
        self.broken = False
        self._cond = threading.Condition()
        self._queue: deque[tuple] = deque()  # (message, its size)
        self._queued_bytes = 0
        self._unsent = b""  # the rest of a frame the caller began to send itself
        self._sending = False
        self._closing = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def put(self, message: tuple, size: int = 0) -> None:
        """``size``: roughly how many bytes the message holds (for the bound)."""
        with self._cond:
            if self.broken:
                return
            if not (self._queue or self._unsent or self._sending or self._closing):
                self._send_without_waiting(frame([message]))
                return
            while self._queued_bytes > self.max_bytes and not self.broken:
                self._cond.wait()
            self._queue.append((message, size))
            self._queued_bytes += size
            self._cond.notify_all()

    @property
    def queued_bytes(self) -> int:
        return self._queued_bytes + len(self._unsent)

    def _send_without_waiting(self, data: bytes) -> None:
        try:
            sent = self.sock.send(data, socket.MSG_DONTWAIT)
        except BlockingIOError:
            sent = 0
        except OSError:
            self.broken = True
            return
        if sent < len(data):
            self._unsent = data[sent:]
            self._cond.notify_all()

    def close(self, timeout: float | None = None) -> None:
        """Send what is queued, then stop the sender thread."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not (self._queue or self._unsent or self._closing):
                    self._cond.wait()
                unsent, self._unsent = self._unsent, b""
                queue = self._take_slice()
                closing = self._closing
                self._sending = True
                self._cond.notify_all()
            try:
                if unsent:
                    self.sock.sendall(unsent)
                if queue:
                    send(self.sock, queue)
            except OSError:
                with self._cond:
                    self.broken = True
                    self._sending = False
                    self._cond.notify_all()
                return
            with self._cond:
                self._sending = False
                if closing and not self._queue and not self._unsent:
                    return

    def _take_slice(self) -> list:
        """The queue's head, up to SLICE_BYTES (at least one message), as one message; the rest
        stays queued and counted. Taking the whole queue made one frame of it: at the bound
        that was 128 MiB of text, its pickle and, in the extraction process, its unpickled copy
        (a 1M-line flood peaked at 204 MB in the tap and 127 MB in the extraction process)."""
        queue = self._queue
        taken, size = [], 0
        while queue and (not taken or size + queue[0][1] <= SLICE_BYTES):
            message, message_size = queue.popleft()
            taken.append(message)
            size += message_size
        self._queued_bytes -= size
        return taken
