"""A TCP forwarder with a switch: one client's network path to a server, cut and restored.

``TcpForwarder(host, port).start()`` listens on 127.0.0.1 and copies bytes both ways between
each accepted connection and a new connection to ``host:port``. :meth:`TcpForwarder.cut`
partitions the path: open connections are reset (the client fails at once, as when a
connection tracker between it and the server loses its state), and connections made while cut
are accepted and then blackholed: nothing is read, forwarded or answered, so the client waits,
as behind a partition, until its own timeout. :meth:`TcpForwarder.restore` heals the path:
the blackholed connections are forwarded at last (what their clients sent during the cut
reaches the server late, as TCP retransmissions do once a partition heals) and new ones are
forwarded again.

Used by the end-to-end tests to cut one replica off the API server while the others, and the
test itself, keep talking to it directly.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading


def _close(sock: socket.socket, reset: bool = False) -> None:
    """Close ``sock``, waking a thread blocked reading it; ``reset``: the peer gets a RST (it
    fails at once, whatever it was doing) instead of an orderly end."""
    with contextlib.suppress(OSError):
        if reset:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.shutdown(socket.SHUT_RD)
        else:
            sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


class TcpForwarder:
    def __init__(self, upstream_host: str, upstream_port: int, host: str = "127.0.0.1") -> None:
        self.upstream = (upstream_host, upstream_port)
        self._listener = socket.create_server((host, 0))
        self._listener.settimeout(0.1)
        self.host = host
        self.port = int(self._listener.getsockname()[1])
        self._lock = threading.Lock()
        self._pairs: set[tuple[socket.socket, socket.socket]] = set()
        self._held: list[socket.socket] = []  # accepted while cut: never read, never answered
        self._cut = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.forwarded = 0  # connections forwarded
        self.blackholed = 0  # connections accepted while cut
        self.severed = 0  # open connections shut down by cut()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def is_cut(self) -> bool:
        return self._cut

    def start(self) -> TcpForwarder:
        self._thread = threading.Thread(target=self._accept, name="tcp-forwarder", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        _close(self._listener)
        with self._lock:
            held, self._held = self._held, []
            pairs = list(self._pairs)
            self._pairs.clear()
        for sock in held:
            _close(sock, reset=True)
        for a, b in pairs:
            _close(a)
            _close(b)

    def cut(self) -> None:
        """Partition: reset the open connections, blackhole new ones."""
        with self._lock:
            self._cut = True
            pairs = list(self._pairs)
            self._pairs.clear()
            self.severed += len(pairs)
        for client, upstream in pairs:
            _close(client, reset=True)
            _close(upstream)

    def restore(self) -> None:
        """Heal: forward the blackholed connections (late) and new ones again."""
        with self._lock:
            self._cut = False
            held, self._held = self._held, []
        for client in held:
            self._forward(client)

    # --- the threads --------------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                if self._cut:
                    self._held.append(client)
                    self.blackholed += 1
                    continue
            self._forward(client)

    def _forward(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            _close(client, reset=True)
            return
        upstream.settimeout(None)
        client.settimeout(None)
        with contextlib.suppress(OSError):
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        pair = (client, upstream)
        with self._lock:
            if self._cut:  # cut while connecting: blackholed after all
                _close(upstream)
                self._held.append(client)
                self.blackholed += 1
                return
            self._pairs.add(pair)
            self.forwarded += 1
        for src, dst in ((client, upstream), (upstream, client)):
            threading.Thread(
                target=self._pump, args=(src, dst, pair), name="tcp-pump", daemon=True
            ).start()

    def _pump(
        self,
        src: socket.socket,
        dst: socket.socket,
        pair: tuple[socket.socket, socket.socket],
    ) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        with self._lock:
            mine = pair in self._pairs
            self._pairs.discard(pair)
        if mine:  # the first side to finish closes both (cut() closes the pairs it takes)
            _close(pair[0])
            _close(pair[1])
