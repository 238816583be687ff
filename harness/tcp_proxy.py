"""A loopback TCP proxy a test can switch between forwarding, hanging and refusing: a dependency's outages on demand.

    with TcpProxy(("127.0.0.1", 5432)) as proxy:      # listens on proxy.port
        proxy.hang()      # accepts connections and never answers; open connections go silent too
        proxy.refuse()    # nothing listens: connections are refused; open connections are cut
        proxy.forward()   # back to normal (connections opened during the outage are cut first)

Hanging is what a frozen database looks like from the client (the kernel still accepts, nobody answers); refusing
is a stopped one. Everything stays on 127.0.0.1; threads are daemons and `close()` stops them all.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
import time

from harness.ports import free_port

FORWARD, HANG, REFUSE = "forward", "hang", "refuse"


class TcpProxy:
    def __init__(self, upstream: tuple[str, int], host: str = "127.0.0.1") -> None:
        self.upstream = upstream
        self.host = host
        self.mode = FORWARD
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._closed = False
        self.port = free_port(host)
        self._listen()

    # MODES

    def forward(self) -> None:
        with self._lock:
            self.mode = FORWARD
        self._cut_all()
        self._listen()

    def hang(self) -> None:
        with self._lock:
            self.mode = HANG
        self._listen()

    def refuse(self) -> None:
        with self._lock:
            self.mode = REFUSE
            listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.close()
        self._cut_all()

    def close(self) -> None:
        self._closed = True
        self.refuse()

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # INTERNALS

    def _listen(self) -> None:
        with self._lock:
            if self._listener is not None or self._closed:
                return
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((self.host, self.port))
            listener.listen(64)
            self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _address = listener.accept()
            except OSError:
                return  # listener closed (refuse or close)
            self._track(client)
            if self.mode == HANG:
                continue  # accepted, never answered: the client waits until its own timeout
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                self._drop(client)
                continue
            self._track(server)
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()

    def _pump(self, client: socket.socket, server: socket.socket) -> None:
        selector = selectors.DefaultSelector()
        peers = {client: server, server: client}
        try:
            for sock in peers:
                sock.setblocking(False)
                selector.register(sock, selectors.EVENT_READ)
            while True:
                events = selector.select(timeout=0.2)
                if self.mode == REFUSE or client.fileno() < 0 or server.fileno() < 0:
                    return
                if self.mode == HANG:
                    time.sleep(0.2)  # stop relaying: both ends see silence, as with a frozen server
                    continue
                for key, _mask in events:
                    try:
                        data = key.fileobj.recv(65536)
                    except BlockingIOError:
                        continue
                    except OSError:
                        return
                    if not data:
                        return
                    peers[key.fileobj].setblocking(True)
                    peers[key.fileobj].sendall(data)
                    peers[key.fileobj].setblocking(False)
        except OSError:
            return
        finally:
            selector.close()
            self._drop(client)
            self._drop(server)

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._connections.add(sock)

    def _drop(self, sock: socket.socket) -> None:
        with self._lock:
            self._connections.discard(sock)
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            sock.close()

    def _cut_all(self) -> None:
        with self._lock:
            connections = list(self._connections)
        for sock in connections:
            self._drop(sock)
