import json
import os
import tarfile
import time

import pytest

import telltale
from conftest import query


def test_library_loaded_from_env():
    assert telltale.library_version().count(".") == 2
    if os.environ.get("TELLTALE_LIBRARY"):
        assert telltale.library_path() == os.environ["TELLTALE_LIBRARY"]


def test_log_10k_flush_stats_agree(db):
    with telltale.Client(db_path=db, app_name="pytest", full_policy="block") as c:
        for i in range(10_000):
            assert c.info("event", i=i) is True
        c.flush(timeout=30)
        s = c.stats()
        assert set(s) >= {"logged", "dropped", "stored", "evicted", "uploaded", "upload_failures",
                          "reports_pending", "db_bytes", "pending_upload", "events", "requests",
                          "spans_uploaded", "upload_dropped", "upload_bytes"}
        assert s["logged"] == 10_000
        assert s["logged"] == s["stored"] + s["dropped"]
        assert s["stored"] == 10_000
        assert s["dropped"] == 0
        assert s["events"] >= 10_000
        assert s["db_bytes"] > 0
    assert query(db, "SELECT count(*) FROM events WHERE msg = 'event'") == [(10_000,)]


def test_levels_and_attributes(db):
    with telltale.Client(db_path=db, app_name="pytest") as c:
        c.debug("d", k="v")
        c.info("i")
        c.warn("w", n=3, flag=True)
        c.error("e", user="u-1")
        c.log(telltale.FATAL, "f")
        c.log("trace", "t")
        c.log(11, "custom level", level="is an attribute", msg="so is this")
        c.flush()
    rows = dict(query(db, "SELECT msg, level FROM events"))
    assert rows["d"] == 5 and rows["i"] == 9 and rows["w"] == 13 and rows["e"] == 17
    assert rows["f"] == 21 and rows["t"] == 1 and rows["custom level"] == 11
    attrs = json.loads(query(db, "SELECT attrs FROM events WHERE msg = 'w'")[0][0])
    assert attrs == {"n": "3", "flag": "True"}
    attrs = json.loads(query(db, "SELECT attrs FROM events WHERE msg = 'custom level'")[0][0])
    assert attrs == {"level": "is an attribute", "msg": "so is this"}


def test_bad_level_raises(db):
    with telltale.Client(db_path=db, app_name="pytest") as c:
        with pytest.raises(telltale.Error) as e:
            c.log("loud", "x")
        assert e.value.code == "TT_EINVAL"
        with pytest.raises(telltale.Error) as e:
            c.log(99, "x")  # the library checks 1..24
        assert e.value.code == "TT_EINVAL" and e.value.message and e.value.hint is not None


def test_unknown_option_is_a_type_error(db):
    with pytest.raises(TypeError, match="unknown option"):
        telltale.Client(db_path=db, app_name="pytest", no_such_option=1)


def test_bad_path_raises_library_error(tmp_path):
    bad = str(tmp_path / "no-such-dir" / "deeper" / "app.db")
    with pytest.raises(telltale.Error) as e:
        telltale.Client(db_path=bad, app_name="pytest")
    err = e.value
    assert err.code == "TT_ESTORE"
    assert err.status == -3
    assert "no-such-dir" in err.message  # the library's message names the path
    assert err.hint  # and says what to do
    assert err.doc.startswith("docs/errors.md#")
    assert err.code in str(err) and err.hint in str(err)


def test_missing_required_option(db):
    with pytest.raises(telltale.Error) as e:
        telltale.Client(db_path=db, app_name=None)
    assert e.value.code == "TT_EINVAL" and "app_name" in e.value.message


def test_same_file_twice_is_misuse(db):
    with telltale.Client(db_path=db, app_name="pytest"):
        with pytest.raises(telltale.Error) as e:
            telltale.Client(db_path=db, app_name="pytest")
        assert e.value.code == "TT_EMISUSE"


def test_report_submit_returns_id(db):
    with telltale.Client(db_path=db, app_name="pytest") as c:
        c.error("upload failed", code="E42")
        rid = c.report(description="upload fails", contact="me@example.com")
        assert isinstance(rid, str) and len(rid) == 36 and rid.count("-") == 4
        assert c.report_status(rid) in ("pending", "failed", "sent")
        assert c.stats()["reports_pending"] >= 1
        with pytest.raises(telltale.Error) as e:
            c.report_status("00000000-0000-4000-8000-000000000000")
        assert e.value.code == "TT_ENOTFOUND"


def test_refresh_notice_asks_the_backend(db, server):
    with telltale.Client(db_path=db, app_name="pytest", endpoint=server.url) as c:
        assert c.notice == ""
        assert c.refresh_notice(timeout_ms=5000) == "Sync is down; a fix is on its way."
        assert c.notice == "Sync is down; a fix is on its way."
        assert server.rec.count("GET", "/v1/status") == 1
    with telltale.Client(db_path=db + ".2", app_name="pytest") as c:
        with pytest.raises(telltale.Error) as e:
            c.refresh_notice()
        assert e.value.code == "TT_EINVAL"


def test_report_with_attachment_and_a_missing_one(db, tmp_path):
    good = tmp_path / "settings.json"
    good.write_text('{"theme": "dark"}')
    with telltale.Client(db_path=db, app_name="pytest") as c:
        rid = c.report(description="with a file", attachments=[good])
        assert len(rid) == 36
        with pytest.warns(telltale.ReportWarning) as w:
            rid2 = c.report(description="missing file", attachments=[tmp_path / "nope.txt"])
        assert len(rid2) == 36
        assert w[0].message.error.code == "TT_EIO" and w[0].message.report_id == rid2


def test_export_report_writes_tar(db, tmp_path):
    out = tmp_path / "report.tar"
    att = tmp_path / "notes.txt"
    att.write_text("hello")
    with telltale.Client(db_path=db, app_name="pytest", app_version="1.2.3") as c:
        c.info("before the report")
        c.flush()
        rid = c.export_report(out, description="export please", attachments=[att])
    assert len(rid) == 36
    with tarfile.open(out) as t:
        names = t.getnames()
        assert "manifest.json" in names
        assert "logs.ndjson.zst" in names
        assert "attachments/notes.txt" in names
        manifest = json.load(t.extractfile("manifest.json"))
    assert rid in json.dumps(manifest)


def test_export_report_bad_path(db, tmp_path):
    with telltale.Client(db_path=db, app_name="pytest") as c:
        with pytest.raises(telltale.Error) as e:
            c.export_report(tmp_path / "no-such-dir" / "r.tar", description="x")
        assert e.value.code == "TT_EIO"
        assert "no-such-dir" in e.value.message and e.value.hint


def test_methods_after_close_raise_misuse(db):
    c = telltale.Client(db_path=db, app_name="pytest")
    r = c.request("GET", "http://127.0.0.1:9/x")
    c.close()
    c.close()  # twice is fine
    assert c.closed
    calls = [
        lambda: c.info("x"), lambda: c.log(telltale.INFO, "x", k="v"), lambda: c.flush(),
        lambda: c.stats(), lambda: c.consent, lambda: setattr(c, "consent", "granted"),
        lambda: c.set_consent("denied", policy_version="2"), lambda: c.upload_flush(1),
        lambda: c.report(description="x"), lambda: c.export_report("r.tar"),
        lambda: c.report_status("x"), lambda: c.notice, lambda: c.request("GET", "http://x/"),
        lambda: c.span("work"), lambda: c.urlopen("http://127.0.0.1:9/"),
    ]
    for call in calls:
        with pytest.raises(telltale.Error) as e:
            call()
        assert e.value.code == "TT_EMISUSE", e.value
        assert e.value.message and e.value.hint
    # A request begun before close and ended after: the library says misuse, no crash.
    with pytest.raises(telltale.Error) as e:
        r.end(200)
    assert e.value.code == "TT_EMISUSE"
    with pytest.raises(telltale.Error) as e:
        r.end(200)  # ended twice
    assert e.value.code == "TT_EMISUSE"


def test_context_manager_closes(db):
    with telltale.Client(db_path=db, app_name="pytest") as c:
        c.info("x")
    with pytest.raises(telltale.Error) as e:
        c.info("y")
    assert e.value.code == "TT_EMISUSE"
    # and the file is released: it can be opened again
    with telltale.Client(db_path=db, app_name="pytest") as c2:
        c2.flush()
        assert c2.stats()["events"] >= 1


def test_close_races_with_loggers(db):
    import threading
    c = telltale.Client(db_path=db, app_name="pytest")
    errors, stop = [], threading.Event()

    def spam():
        while not stop.is_set():
            try:
                c.info("spam")
            except telltale.Error as e:
                errors.append(e.code)
                return

    threads = [threading.Thread(target=spam) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    c.close()
    stop.set()
    for t in threads:
        t.join()
    assert set(errors) <= {"TT_EMISUSE"}


def test_consent_property(db):
    with telltale.Client(db_path=db, app_name="pytest", consent_policy_version="1") as c:
        assert c.consent == "unknown"
        c.consent = "granted"
        assert c.consent == "granted"
        c.consent = "denied"
        assert c.consent == "denied"
        c.set_consent("granted", policy_version="0")  # an answer to an older policy
        assert c.consent == "unknown"
        with pytest.raises(telltale.Error) as e:
            c.consent = "maybe"
        assert e.value.code == "TT_EINVAL"
    with telltale.Client(db_path=db, app_name="pytest", consent_policy_version="0") as c:
        assert c.consent == "granted"  # stored in the buffer


def test_upload_flush_without_endpoint(db):
    with telltale.Client(db_path=db, app_name="pytest") as c:
        c.consent = "granted"
        with pytest.raises(telltale.Error) as e:
            c.upload_flush(1)
        assert e.value.code == "TT_EINVAL" and e.value.message


def test_consent_gating(db, server):
    with telltale.Client(db_path=db, app_name="pytest", endpoint=server.url,
                         upload_interval_ms=100, retry_base_ms=50, compression="gzip") as c:
        for i in range(100):
            c.info("gated", i=i)
        c.flush()
        with pytest.raises(telltale.Error) as e:
            c.upload_flush(1)
        assert e.value.code == "TT_ENOCONSENT" and e.value.hint
        time.sleep(1.0)  # ten upload intervals
        assert server.rec.count("POST", "/v1/logs") == 0
        assert c.stats()["uploaded"] == 0

        c.consent = "granted"
        c.flush()
        c.upload_flush(timeout=15)
        assert server.rec.count("POST", "/v1/logs") >= 1
        s = c.stats()
        assert s["uploaded"] >= 100
        assert s["pending_upload"] == 0
        h = server.rec.headers_of("/v1/logs")[0]
        assert h.get("Content-Encoding") == "gzip" and h.get("X-Telltale-Batch")
