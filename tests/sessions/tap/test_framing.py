"""The outbox in front of a helper process's socket: the sender never waits, within its bound."""

import socket
import threading

from sessions.tap.framing import Outbox, recv


def test_put_returns_while_the_other_side_reads_nothing_and_everything_arrives_in_order():
    a, b = socket.socketpair()
    outbox = Outbox(a, max_bytes=64 << 20)
    chunk = "x" * 65536
    for i in range(200):  # 13 MB: far more than the socket holds
        outbox.put(("feed", i, chunk), len(chunk))
    received = []

    def read():
        while len(received) < 200:
            received.extend(recv(b))

    reader = threading.Thread(target=read)
    reader.start()
    reader.join(60)
    outbox.close(60)
    assert [m[1] for m in received] == list(range(200))


def test_put_waits_beyond_the_bound_until_the_other_side_reads():
    a, b = socket.socketpair()
    outbox = Outbox(a, max_bytes=1 << 20)
    chunk = "y" * 65536
    done = threading.Event()

    def send():
        for i in range(100):  # 6.5 MB against a 1 MB bound
            outbox.put(("feed", i, chunk), len(chunk))
        done.set()

    threading.Thread(target=send, daemon=True).start()
    assert not done.wait(0.5)
    assert outbox.queued_bytes <= (1 << 20) + 2 * len(chunk) + 1000
    received = []
    while len(received) < 100:
        received.extend(recv(b))
    assert done.wait(60)
    assert [m[1] for m in received] == list(range(100))


def test_a_closed_peer_makes_the_outbox_give_up_instead_of_blocking():
    a, b = socket.socketpair()
    outbox = Outbox(a, max_bytes=1 << 16)
    b.close()
    for i in range(100):
        outbox.put(("feed", i, "z" * 4096), 4096)
    outbox.close(60)
    assert outbox.broken
