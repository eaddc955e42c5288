import re
import urllib.error

import pytest

import telltale
from conftest import query

TRACEPARENT = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-01$")


def test_request_context_manager(db):
    with telltale.Client(db_path=db, app_name="pytest") as c:
        with c.request("GET", "https://api.example.com/items?token=secret") as r:
            assert TRACEPARENT.match(r.traceparent)
            assert r.trace_id == r.traceparent[3:35]
            c.info("inside the request")
            r.header("X-Request-Id", "req-777")
            r.header("Content-Type", "text/plain")
            r.end(503, "service unavailable")
        with pytest.raises(RuntimeError):
            with c.request("POST", "https://api.example.com/upload"):
                raise RuntimeError("socket closed")
        with c.span("load settings"):
            c.info("in a span")
        c.flush()
        assert c.stats()["requests"] == 3
    rows = query(db, "SELECT method, host, path, status, error, trace_id FROM requests WHERE kind != 'span' ORDER BY id")
    assert rows[0][:5] == ("GET", "api.example.com", "/items", 503, "service unavailable")
    assert rows[0][5] == r.trace_id
    assert rows[1][3] in (0, None) and rows[1][4] == "RuntimeError: socket closed"
    assert query(db, "SELECT count(*) FROM request_ids WHERE value = 'req-777'") == [(1,)]
    assert query(db, "SELECT trace_id FROM events WHERE msg = 'inside the request'") == [(r.trace_id,)]


def test_urlopen_adds_traceparent_and_records_ids(db, server):
    with telltale.Client(db_path=db, app_name="pytest") as c:
        with c.urlopen(server.url + "/items?page=2", timeout=10) as resp:
            assert resp.status == 200
            assert resp.read() == b'{"items": []}'
        sent = server.rec.headers_of("/items")[0]
        assert TRACEPARENT.match(sent["Traceparent"])
        with pytest.raises(urllib.error.HTTPError) as e:
            c.urlopen(server.url + "/missing", timeout=10)
        assert e.value.code == 404
        with pytest.raises(urllib.error.URLError):
            c.urlopen("http://127.0.0.1:9/refused", timeout=10)  # nothing listens on port 9
        c.flush()
    rows = query(db, "SELECT path, status, error, trace_id, id FROM requests ORDER BY id")
    assert [(p, s) for p, s, *_ in rows] == [("/items", 200), ("/missing", 404), ("/refused", 0)]
    assert rows[0][3] == sent["Traceparent"][3:35]
    assert "refused" in rows[2][2].lower()
    ids = query(db, "SELECT request, value FROM request_ids WHERE value = 'srv-req-42' ORDER BY request")
    assert [r for r, _ in ids] == [rows[0][4], rows[1][4]]


def test_http_client_with_request(db, server):
    import http.client
    import urllib.parse
    with telltale.Client(db_path=db, app_name="pytest") as c:
        u = urllib.parse.urlsplit(server.url)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
        with c.request("GET", server.url + "/things") as r:
            conn.request("GET", "/things", headers={"traceparent": r.traceparent})
            resp = conn.getresponse()
            resp.read()
            r.record_response(resp)
        conn.close()
        assert r.ended and r.status == 200
        c.flush()
    assert query(db, "SELECT status FROM requests WHERE path = '/things'") == [(200,)]
    assert query(db, "SELECT count(*) FROM request_ids WHERE value = 'srv-req-42'") == [(1,)]


def test_request_end_twice_is_misuse(db):
    with telltale.Client(db_path=db, app_name="pytest") as c:
        r = c.request("GET", "http://x/")
        r.end(200)
        with pytest.raises(telltale.Error) as e:
            r.end(200)
        assert e.value.code == "TT_EMISUSE"
        with pytest.raises(telltale.Error) as e:
            r.header("X-Request-Id", "1")
        assert e.value.code == "TT_EMISUSE"
