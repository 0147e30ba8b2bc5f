"""The preview server: gzip twins, keep-alive, cache headers."""

from __future__ import annotations

import gzip
import http.client

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
