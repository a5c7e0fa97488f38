"""A TCP proxy that can be cut and restored, for tests and the fault suite: PostgreSQL (or any
server) "goes away" without touching the server itself.

    proxy = TcpProxy("127.0.0.1", 5435)
    await proxy.start()
    url = proxy.url(database_url)       # the same URL through the proxy
    await proxy.cut()                   # drop every connection, refuse new ones
    await proxy.restore()               # listen again on the same port

``ThreadedTcpProxy`` runs one in a thread of its own, with plain (blocking) ``cut``/``restore``,
so a caller whose event loop is busy (or blocked in a subprocess call) never stalls the traffic.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from typing import Any


class TcpProxy:
    """Forwards a local port to ``target``; ``cut()`` drops every connection and refuses new ones
    (the server "stopped"), ``restore()`` listens again on the same port."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        pair = {writer, up_writer}
        self._writers |= pair

        async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.close()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))
        self._writers -= pair

    async def cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def restore(self) -> None:
        await self.start()

    def url(self, database_url: str) -> str:
        prefix, _, rest = database_url.partition("@")
        database = rest.split("/", 1)[1]
        return f"{prefix}@127.0.0.1:{self.port}/{database}"


class ThreadedTcpProxy:
    """A :class:`TcpProxy` on an event loop in a daemon thread; every method blocks until done."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self._proxy = TcpProxy(target_host, target_port)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="tcp-proxy", daemon=True
        )
        self.is_cut = False

    @property
    def port(self) -> int:
        return self._proxy.port

    def url(self, database_url: str) -> str:
        return self._proxy.url(database_url)

    def _run(self, work: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout=10)

    def start(self) -> ThreadedTcpProxy:
        self._thread.start()
        self._run(self._proxy.start())
        return self

    def cut(self) -> None:
        self._run(self._proxy.cut())
        self.is_cut = True

    def restore(self) -> None:
        self._run(self._proxy.restore())
        self.is_cut = False

    def stop(self) -> None:
        if self._thread.is_alive():
            self._run(self._proxy.cut())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
