import json
import logging

import pytest

import telltale
from conftest import query


@pytest.fixture
def logger():
    log = logging.getLogger("pytest.telltale")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    yield log
    for h in list(log.handlers):
        log.removeHandler(h)


def test_records_land_with_levels_and_attributes(db, logger):
    with telltale.Client(db_path=db, app_name="pytest") as c:
        logger.addHandler(telltale.Handler(c))
        logger.debug("debug %d", 1)
        logger.info("user %s signed in", "u-1", extra={"user": "u-1", "attempt": 2})
        logger.warning("slow")
        logger.error("failed")
        logger.critical("down")
        try:
            raise ValueError("bad value")
        except ValueError:
            logger.exception("it broke")
        c.flush()
    rows = {msg: (level, json.loads(attrs or "{}")) for msg, level, attrs in query(db, "SELECT msg, level, attrs FROM events")}
    assert rows["debug 1"][0] == telltale.DEBUG
    assert rows["slow"][0] == telltale.WARN
    assert rows["failed"][0] == telltale.ERROR
    assert rows["down"][0] == telltale.FATAL
    level, attrs = rows["user u-1 signed in"]
    assert level == telltale.INFO
    assert attrs["user"] == "u-1" and attrs["attempt"] == "2"
    assert attrs["logger.name"] == "pytest.telltale"
    assert attrs["code.function"] == "test_records_land_with_levels_and_attributes"
    assert attrs["code.filepath"].endswith("test_logging_handler.py") and int(attrs["code.lineno"]) > 0
    level, attrs = rows["it broke"]
    assert level == telltale.ERROR
    assert attrs["exception.type"] == "ValueError" and attrs["exception.message"] == "bad value"
    assert "Traceback" in attrs["exception.stacktrace"]


def test_level_mapping():
    from telltale import _severity
    assert _severity(logging.NOTSET) == telltale.TRACE
    assert _severity(5) == telltale.TRACE
    assert _severity(logging.DEBUG) == telltale.DEBUG
    assert _severity(logging.INFO) == telltale.INFO
    assert _severity(25) == 11  # between INFO and WARNING
    assert _severity(logging.WARNING) == telltale.WARN
    assert _severity(logging.ERROR) == telltale.ERROR
    assert _severity(logging.CRITICAL) == telltale.FATAL
    assert _severity(60) == telltale.FATAL
    assert all(1 <= _severity(n) <= 24 for n in range(0, 100))


def test_handler_level_and_formatter(db, logger):
    with telltale.Client(db_path=db, app_name="pytest") as c:
        h = telltale.Handler(c, level=logging.WARNING)
        h.setFormatter(logging.Formatter("[%(name)s] %(message)s"))
        logger.addHandler(h)
        logger.info("not kept")
        logger.warning("kept")
        c.flush()
    msgs = [m for (m,) in query(db, "SELECT msg FROM events")]
    assert "[pytest.telltale] kept" in msgs and not any("not kept" in m for m in msgs)


def test_handler_after_close_does_not_raise(db, logger, capsys):
    c = telltale.Client(db_path=db, app_name="pytest")
    logger.addHandler(telltale.Handler(c))
    c.close()
    logger.error("after close")  # handleError reports it on stderr; the app goes on
    assert "TT_EMISUSE" in capsys.readouterr().err
