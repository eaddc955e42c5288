"""Shared fixtures: a fresh buffer path and a loopback HTTP server that records what it gets."""
import http.server
import json
import sqlite3
import threading

import pytest


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []  # (method, path, headers dict)
        self.reply_headers = {"X-Request-Id": "srv-req-42"}

    def count(self, method, path):
        with self.lock:
            return sum(1 for m, p, _ in self.requests if m == method and p.split("?")[0] == path)

    def headers_of(self, path):
        with self.lock:
            return [h for _, p, h in self.requests if p.split("?")[0] == path]


def _handler_class(rec):
    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def _answer(self, status, body=b"{}"):
            self.send_response(status)
            for k, v in rec.reply_headers.items():
                self.send_header(k, v)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _record(self):
            n = int(self.headers.get("Content-Length") or 0)
            if n:
                self.rfile.read(n)
            with rec.lock:
                rec.requests.append((self.command, self.path, dict(self.headers.items())))

        def do_POST(self):
            self._record()
            if self.path.startswith("/v1/reports"):
                self._answer(200, json.dumps({"report_id": "", "notice": ""}).encode())
            else:
                self._answer(200)

        def do_GET(self):
            self._record()
            if self.path.startswith("/missing"):
                self._answer(404, b'{"error": "no such item"}')
            elif self.path.startswith("/v1/status"):
                self._answer(200, json.dumps({"notice": "Sync is down; a fix is on its way."}).encode())
            else:
                self._answer(200, b'{"items": []}')

    return H


@pytest.fixture
def server():
    """A loopback HTTP server on 127.0.0.1 (any port), in a thread; .url, .rec."""
    rec = Recorder()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(rec))
    httpd.daemon_threads = True
    t = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.rec = rec
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    t.join()


@pytest.fixture
def db(tmp_path):
    return str(tmp_path / "app.db")


def query(db_path, sql, *args):
    """Read the buffer with Python's own sqlite3 (WAL readers are fine while the client runs)."""
    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()
