"""A small local web server for previewing an export: ``searchkit serve DIR``.

It serves the precompressed ``.gz`` copies the export writes, with
``Content-Encoding: gzip``, as a static host configured for them would, so
the bytes a browser receives here are the bytes it would receive online
(the benchmark and the browser tests measure through it). Meant for
previews: it binds to 127.0.0.1 unless told otherwise (``--bind``).

It behaves like the static hosts a site is served from (nginx, CDNs) where
that changes timing: HTTP/1.1 keep-alive (every response has a
Content-Length), no Nagle delay (``TCP_NODELAY``: without it a response whose
headers and body leave in two writes waits for the browser's delayed ACK,
about 40 ms, on a kept-alive connection) and one thread per connection.
Content-hashed data folders are sent as immutable.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import re
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

from searchkit.errors import SearchkitError

TYPES = {".js": "text/javascript", ".json": "application/json", ".css": "text/css",
         ".html": "text/html; charset=utf-8"}  # fmt: skip
# Debian's Chromium, and the flags the browser tests and benchmarks/bench_export.py
# launch it with (headless, no sandbox in containers, no background traffic that
# would add requests or time to what they measure).
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Files under data-<hash>/ never change once written (searchkit.export).
IMMUTABLE = re.compile(r"^/(?:[^?#]*/)?data-[0-9a-f]+/")


class Handler(http.server.SimpleHTTPRequestHandler):
    """Static files; ``X.gz`` is sent for ``X`` when the client accepts gzip."""

    protocol_version = "HTTP/1.1"  # keep-alive: needs a Content-Length on every response
    disable_nagle_algorithm = True  # TCP_NODELAY (see the module docstring)
    timeout = 30  # seconds an idle kept-alive connection holds its thread

    def do_GET(self):
        if not self._refuse_bad_path() and not self._send_gzip_twin(with_body=True):
            super().do_GET()

    def do_HEAD(self):
        if not self._refuse_bad_path() and not self._send_gzip_twin(with_body=False):
            super().do_HEAD()

    def _refuse_bad_path(self) -> bool:
        """400 for a path no file can have (``%00``): the file system calls would raise."""
        if "\0" in urllib.parse.unquote(self.path):
            self.send_error(400, "Bad request: NUL byte in the path")
            return True
        return False

    def _send_gzip_twin(self, *, with_body: bool) -> bool:
        """Send ``X.gz`` for ``X`` in one write (headers and body in one packet)."""
        path = Path(self.translate_path(self.path))
        gz = path.with_name(path.name + ".gz")
        accepts = "gzip" in self.headers.get("Accept-Encoding", "")
        if not (accepts and path.is_file() and gz.is_file()):
            return False
        body = gz.read_bytes()
        cache = "public, max-age=31536000, immutable" if IMMUTABLE.match(self.path) else "no-cache"
        head = (
            f"{self.protocol_version} 200 OK\r\n"
            f"Server: {self.version_string()}\r\n"
            f"Date: {self.date_time_string()}\r\n"
            f"Content-Type: {TYPES.get(path.suffix, 'application/octet-stream')}\r\n"
            f"Content-Encoding: gzip\r\n"
            f"Content-Length: {len(body)}\r\n"
            f"Vary: Accept-Encoding\r\n"
            f"Cache-Control: {cache}\r\n\r\n"
        ).encode("latin-1")
        self.wfile.write(head + body if with_body else head)
        return True

    def log_message(self, format, *args):  # quiet: tests and benchmarks print their own
        pass


class Server(http.server.ThreadingHTTPServer):
    request_queue_size = 64  # browsers open several connections at once


class ServeError(SearchkitError):
    """The server cannot listen where it was asked to."""


def make_server(directory: Path | str, port: int = 0, bind: str = "127.0.0.1") -> Server:
    """A server for ``directory`` listening on ``bind``:``port`` (0: any free port)."""
    handler = functools.partial(Handler, directory=str(directory))
    try:
        return Server((bind, port), handler)
    except OSError as exc:  # busy port, unknown address, port < 1024 without rights
        raise ServeError(f"cannot listen on {bind}:{port}: {exc.strerror or exc}") from None


def server_url(server: Server) -> str:
    host, port = server.server_address[:2]
    host = "127.0.0.1" if host in ("0.0.0.0", "") else host
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


@contextlib.contextmanager
def serving(directory: Path | str, port: int = 0, bind: str = "127.0.0.1") -> Iterator[str]:
    """Serve ``directory`` in a thread; yields the base URL."""
    server = make_server(directory, port, bind)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server_url(server)
    finally:
        server.shutdown()
        server.server_close()
