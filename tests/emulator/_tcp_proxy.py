"""A TCP forwarder for tests: round-robin over upstreams, and a switch that cuts every connection.

Between an emulator and PostgreSQL it stands in for a database that goes away
and comes back; in front of several emulators it is a round-robin load balancer
(one upstream per connection, as HAProxy's ``balance roundrobin`` does).
"""

from __future__ import annotations

import contextlib
import itertools
import socket
import threading
from collections import Counter
from collections.abc import Sequence


class TcpProxy:
    def __init__(self, upstreams: Sequence[tuple[str, int]]) -> None:
        self._upstreams = itertools.cycle(list(upstreams))
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._up = True
        self._closed = False
        self.served: Counter[tuple[str, int]] = Counter()  # connections forwarded, per upstream
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                upstream = next(self._upstreams)
                up = self._up
            if not up:
                client.close()  # the database is "down": connections are refused at once
                continue
            try:
                server = socket.create_connection(upstream, timeout=10)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            for sock in (client, server):  # forward each write at once (Nagle + delayed ACK: 40 ms a hop)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._open.update((client, server))
                self.served[upstream] += 1
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                self._drop(sock)

    def _drop(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.discard(sock)
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()

    def cut(self) -> None:
        """Close every connection and refuse new ones, as a database that went away."""
        with self._lock:
            self._up = False
            dying = list(self._open)
        for sock in dying:
            self._drop(sock)

    def restore(self) -> None:
        with self._lock:
            self._up = True

    def close(self) -> None:
        self._closed = True
        self.cut()
        self._listener.close()
