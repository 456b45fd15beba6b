"""One TLS socket shared by the connection's reader thread and the threads that send.

OpenSSL's per-connection state must not be entered by two threads at once: an ``SSL_read`` in the
reader while another thread is in ``SSL_write`` can corrupt it, and under TLS 1.3 (whose session
tickets arrive just after the handshake) that showed as an AUTH reply that never came. So every
call into the TLS object holds one lock. The reader waits for bytes outside the lock and reads with
a short timeout, so a sender waits at most that long, and a read that finds only a handshake
message (no application data) gives the lock back instead of holding it until the master speaks.
"""

import select
import socket
import ssl
import threading

_READ_SLICE = 0.05


class LockedTls:
    """The ``recv_into``/``sendall`` of an ``ssl.SSLSocket``, safe to call from a reader and senders at once."""

    def __init__(self, sock):
        self._sock = sock
        self._lock = threading.Lock()

    def recv_into(self, view, nbytes):
        while True:
            with self._lock:
                buffered = self._sock.pending() > 0
            if not buffered:
                readable, _, _ = select.select([self._sock], [], [], 1.0)
                if not readable:
                    continue
            with self._lock:
                self._sock.settimeout(_READ_SLICE)
                try:
                    return self._sock.recv_into(view, nbytes)
                except (socket.timeout, ssl.SSLWantReadError):
                    continue
                finally:
                    self._sock.settimeout(None)

    def sendall(self, data):
        with self._lock:
            self._sock.sendall(data)
