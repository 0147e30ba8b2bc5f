"""The preview server: gzip twins, keep-alive, cache headers."""

from __future__ import annotations

import gzip
import http.client
import os
import subprocess
import sys

from conftest import REPO

from searchkit.export.webserve import serving


def test_gzip_twins_over_one_kept_alive_connection(tmp_path):
    (tmp_path / "data-0123abcd").mkdir()
    for name, text in (("searchkit.json", '{"a": 1}'), ("data-0123abcd/t.json", "[1, 2]")):
        (tmp_path / name).write_text(text)
        (tmp_path / f"{name}.gz").write_bytes(gzip.compress(text.encode()))
    (tmp_path / "plain.txt").write_text("no twin")
    with serving(tmp_path) as url:
        port = int(url.rstrip("/").rsplit(":", 1)[1])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        seen = set()
        for path, body, cache in (
            ("/searchkit.json", b'{"a": 1}', "no-cache"),
            ("/data-0123abcd/t.json", b"[1, 2]", "immutable"),
        ):
            conn.request("GET", path, headers={"Accept-Encoding": "gzip"})
            res = conn.getresponse()
            assert res.status == 200 and res.version == 11
            assert res.getheader("Content-Encoding") == "gzip"
            assert gzip.decompress(res.read()) == body
            assert cache in res.getheader("Cache-Control")
            seen.add(conn.sock.getsockname())
        conn.request("HEAD", "/searchkit.json", headers={"Accept-Encoding": "gzip"})
        res = conn.getresponse()
        length = int(res.getheader("Content-Length"))
        assert res.read() == b"" and length == (tmp_path / "searchkit.json.gz").stat().st_size
        conn.request("GET", "/plain.txt")
        res = conn.getresponse()
        assert res.read() == b"no twin" and res.getheader("Content-Encoding") is None
        conn.request("GET", "/missing.json")
        assert conn.getresponse().status == 404
        assert len(seen) == 1  # one connection served every response


def test_a_nul_byte_in_the_path_is_answered_400(tmp_path):
    (tmp_path / "index.html").write_text("<p>hi</p>")
    with serving(tmp_path) as url:
        port = int(url.rstrip("/").rsplit(":", 1)[1])
        for method in ("GET", "HEAD"):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request(method, "/index.html%00.js", headers={"Accept-Encoding": "gzip"})
            assert conn.getresponse().status == 400
            conn.close()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/index.html")  # the server is still up
        assert conn.getresponse().read() == b"<p>hi</p>"
        conn.close()


def _start(folder, *args):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    cmd = [sys.executable, "-m", "searchkit", "serve", str(folder), *args]
    return subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env=env)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_command_bind_port_busy_port_and_ctrl_c(tmp_path):
    import signal

    (tmp_path / "index.html").write_text("<p>served</p>")
    port = _free_port()
    first = _start(tmp_path, "--bind", "127.0.0.2", "--port", str(port))
    try:
        line = first.stderr.readline()
        assert (
            line == f"searchkit: serving {tmp_path} at http://127.0.0.2:{port}/ (Ctrl-C to stop)\n"
        )
        conn = http.client.HTTPConnection("127.0.0.2", port, timeout=5)
        conn.request("GET", "/index.html")
        assert conn.getresponse().read() == b"<p>served</p>"
        conn.close()
        second = _start(tmp_path, "--bind", "127.0.0.2", "--port", str(port))
        _, err = second.communicate(timeout=60)
        assert second.returncode == 2
        assert (
            err == f"searchkit: error: cannot listen on 127.0.0.2:{port}: Address already in use\n"
        )
        first.send_signal(signal.SIGINT)
        _, err = first.communicate(timeout=30)
        assert first.returncode == 0 and err == "searchkit: stopped\n"
    finally:
        first.kill()
        first.wait()
