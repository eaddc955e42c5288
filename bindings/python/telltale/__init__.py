"""telltale for Python: client diagnostics over the telltale C library (ctypes, no compiler).

    import telltale
    with telltale.Client(db_path="app.db", app_name="demo", endpoint=None) as c:
        c.info("signed in", user="u-1")
        c.consent = "granted"
        c.flush()
        print(c.stats()["stored"])
        report_id = c.report(description="upload fails")

Every failure raises telltale.Error with .code ("TT_ESTORE", ...), .message and .hint,
as the library wrote them. A closed client raises Error with code "TT_EMISUSE".
Timeouts are in seconds (floats are fine).

The library loaded is the one named by TELLTALE_LIBRARY if set, else a libtelltale.so.0
next to this package, else libtelltale.so.0 through the system loader.
"""
import ctypes
import logging
import threading
import traceback
import warnings
import weakref

from . import _native

__all__ = [
    "Client", "Error", "ReportWarning", "Handler", "Request", "Span",
    "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL",
    "library_version", "library_path", "network_changed",
]

_lib, _lib_path = _native.load()

TRACE, DEBUG, INFO, WARN, ERROR, FATAL = 1, 5, 9, 13, 17, 21
_LEVEL_NAMES = {"trace": TRACE, "debug": DEBUG, "info": INFO, "warn": WARN, "warning": WARN,
                "error": ERROR, "fatal": FATAL, "critical": FATAL}
_CONSENT = {"unknown": 0, "granted": 1, "denied": 2}
_CONSENT_NAMES = {v: k for k, v in _CONSENT.items()}
_REPORT_STATES = {0: "pending", 1: "sent", 2: "failed"}
_FULL_POLICY = {"drop": 0, "block": 1}
_CODECS = {"zstd": 0, "gzip": 1, "none": 2}
_REPORT_AUTOMATIC, _REPORT_NO_SCRUB = 1, 2
_REPORTS_OFF = 1
_CONSENT_KEEP_ON_POLICY_CHANGE = 1
_CLOSE_TIMEOUT_S = 5.0


def library_version():
    """'MAJOR.MINOR.PATCH' of the library actually loaded."""
    return _lib.tt_version().decode()


def library_path():
    """The file the library was loaded from (or the name given to the system loader)."""
    return _lib_path


def network_changed():
    """The device's network changed: every client retries its uploads now."""
    _lib.tt_network_changed()


class Error(Exception):
    """A telltale call failed. .code is the status name ("TT_ESTORE"), .status the number,
    .message and .hint the library's words, .doc where docs/errors.md explains it."""

    def __init__(self, code, message, hint="", doc="", status=None):
        self.code = code
        self.message = message
        self.hint = hint
        self.doc = doc
        self.status = status
        super().__init__(self.__str__())

    def __str__(self):
        text = f"{self.code}: {self.message}"
        if self.hint:
            text += f" Hint: {self.hint}"
        return text

    def __reduce__(self):
        return (Error, (self.code, self.message, self.hint, self.doc, self.status))


class ReportWarning(UserWarning):
    """A report was filed (its id is returned) but something was left out of it: an
    attachment over the cap (TT_ELIMIT) or one that could not be read (TT_EIO).
    .error is the telltale.Error that says what."""

    def __init__(self, error, report_id):
        self.error = error
        self.report_id = report_id
        super().__init__(f"report {report_id} filed without a part: {error}")


def _text(s):
    if s is None:
        return None
    if isinstance(s, bytes):
        return s
    return str(s).encode("utf-8", "surrogatepass")


def _decode(b):
    return b.decode("utf-8", "replace") if b is not None else ""


def _last_error(rc, call=None):
    """The Error for status rc, from this thread's tt_error_last()."""
    e = _lib.tt_error_last().contents
    name = _native.STATUS_NAMES.get(rc) or _decode(_lib.tt_status_name(rc))
    if e.code == rc:
        return Error(name, _decode(e.message), _decode(e.hint), _decode(e.doc), rc)
    # Should not happen: every failing call fills tt_error_last. Say what we know.
    message = _decode(_lib.tt_status_describe(rc))
    if call:
        message = f"{call}: {message}"
    return Error(name, message, "", "", rc)


def _check(rc, call=None):
    if rc != 0:
        raise _last_error(rc, call)
    return rc


def _closed_error(what):
    return Error("TT_EMISUSE", f"{what}: the telltale.Client is closed",
                 "open a new telltale.Client; close() (or leaving the with block) ends a client for good",
                 "docs/errors.md#emisuse", _native.TT_EMISUSE)


def _level(level):
    if isinstance(level, str):
        try:
            return _LEVEL_NAMES[level.lower()]
        except KeyError:
            raise Error("TT_EINVAL", f"unknown level {level!r}",
                        "use one of trace, debug, info, warn, error, fatal, or a number 1..24",
                        "docs/errors.md#einval", _native.TT_EINVAL) from None
    return int(level)


def _ms(seconds):
    if seconds is None:
        return 0xFFFFFFFF
    ms = int(round(float(seconds) * 1000))
    return max(0, min(ms, 0xFFFFFFFF))


class _Handle:
    """The tt_client* and who is using it, so close() never frees it under a running call."""

    def __init__(self, ptr):
        self.ptr = ptr
        self.busy = 0
        self.cv = threading.Condition(threading.Lock())

    def enter(self, what):
        with self.cv:
            if self.ptr is None:
                raise _closed_error(what)
            self.busy += 1
            return self.ptr

    def leave(self):
        with self.cv:
            self.busy -= 1
            if self.busy == 0:
                self.cv.notify_all()

    def close(self, timeout_ms):
        with self.cv:
            ptr, self.ptr = self.ptr, None
            if ptr is None:
                return 0
            while self.busy:
                self.cv.wait()
        return _lib.tt_close(ptr, timeout_ms)


class _Use:
    __slots__ = ("handle", "what", "ptr")

    def __init__(self, handle, what):
        self.handle = handle
        self.what = what

    def __enter__(self):
        self.ptr = self.handle.enter(self.what)
        return self.ptr

    def __exit__(self, *exc):
        self.handle.leave()
        return False


def _options(db_path, app_name, endpoint, kwargs, keep):
    o = _native.tt_options()
    _lib.tt_options_init(ctypes.byref(o))
    o.version = _native.TT_OPTIONS_VERSION

    def text(value):
        b = _text(value)
        keep.append(b)
        return b

    o.db_path = text(db_path)
    o.app_name = text(app_name)
    o.endpoint = text(endpoint)
    names = {name for name, _ in _native.tt_options._fields_} - {"version", "before_send", "before_send_data"}
    for key, value in kwargs.items():
        if key not in names:
            raise TypeError(f"telltale.Client: unknown option {key!r} (options: {', '.join(sorted(names))})")
        if value is None:
            continue
        if key == "full_policy" and isinstance(value, str):
            value = _FULL_POLICY[value.lower()]
        elif key == "compression" and isinstance(value, str):
            value = _CODECS[value.lower()]
        elif key in ("request_id_headers", "url_query_keys") and not isinstance(value, (str, bytes)):
            value = ",".join(value)
        ctype = dict(_native.tt_options._fields_)[key]
        setattr(o, key, text(value) if ctype is ctypes.c_char_p else int(value))
    return o


class Client:
    """One telltale buffer (a SQLite file) and its background threads.

    Client(db_path, app_name, endpoint=None, **options): options are the tt_options
    fields by name (app_version, max_db_bytes, upload_interval_ms, full_policy="block",
    compression="gzip", auth_token, consent_policy_version, ...). before_send=callable
    takes the report manifest (a JSON string) and returns True (send), False (veto) or a
    new manifest string. Use it as a context manager, or call close().
    One Client may be used from any number of threads.
    """

    def __init__(self, db_path, app_name, endpoint=None, *, close_timeout=_CLOSE_TIMEOUT_S,
                 before_send=None, **options):
        keep = []
        o = _options(db_path, app_name, endpoint, options, keep)
        if before_send is not None:
            o.before_send = _before_send_thunk(before_send)
            keep.append(o.before_send)
        ptr = ctypes.c_void_p()
        rc = _lib.tt_open(ctypes.byref(ptr), ctypes.byref(o))
        if rc != 0:
            raise _last_error(rc, "tt_open")
        note = _lib.tt_error_last().contents
        self.recovery_note = _decode(note.message) if note.code == -11 else ""
        self._keep = keep  # the callback must outlive the client
        self._h = _Handle(ptr.value)
        self.db_path = str(db_path)
        self.close_timeout = close_timeout
        self._finalizer = weakref.finalize(self, _Handle.close, self._h, _ms(close_timeout))

    # ---- life
    def close(self, timeout=None):
        """Flush (up to timeout seconds; default close_timeout), stop the threads and free
        the client. Closing twice is fine. Raises Error(TT_ETIMEOUT) if not all was stored
        in time (the client is closed anyway; what was not stored counts as dropped)."""
        self._finalizer.detach()
        rc = self._h.close(_ms(self.close_timeout if timeout is None else timeout))
        _check(rc, "tt_close")

    @property
    def closed(self):
        return self._h.ptr is None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            self.close()
        except Error:
            if exc_type is None:
                raise
        return False

    def _use(self, what):
        return _Use(self._h, what)

    # ---- logging
    def log(self, level, msg, /, **attrs):
        """Queue one event; attribute values are turned into text. True if queued,
        False if dropped because this thread's queue was full (counted in stats)."""
        lvl = _level(level)
        m = _text(msg)
        with self._use("log") as c:
            if attrs:
                n = len(attrs)
                arr = (_native.tt_attr * n)()
                for i, (k, v) in enumerate(attrs.items()):
                    arr[i].key = _text(k)
                    arr[i].value = _text(v)
                rc = _lib.tt_log_attrs(c, lvl, m, arr, n)
            else:
                rc = _lib.tt_log(c, lvl, m)
        if rc == _native.TT_EFULL:
            return False
        _check(rc, "tt_log")
        return True

    def trace(self, msg, /, **attrs):
        return self.log(TRACE, msg, **attrs)

    def debug(self, msg, /, **attrs):
        return self.log(DEBUG, msg, **attrs)

    def info(self, msg, /, **attrs):
        return self.log(INFO, msg, **attrs)

    def warn(self, msg, /, **attrs):
        return self.log(WARN, msg, **attrs)

    warning = warn

    def error(self, msg, /, **attrs):
        return self.log(ERROR, msg, **attrs)

    def fatal(self, msg, /, **attrs):
        return self.log(FATAL, msg, **attrs)

    def flush(self, timeout=5.0):
        """Return once everything logged before is in the file; Error(TT_ETIMEOUT) after timeout s."""
        with self._use("flush") as c:
            rc = _lib.tt_flush(c, _ms(timeout))
        _check(rc, "tt_flush")

    def stats(self):
        """The tt_stats fields as a dict (logged, dropped, stored, ..., upload_bytes)."""
        s = _native.tt_stats()
        _lib.tt_stats_init(ctypes.byref(s))
        s.version = _native.TT_STATS_VERSION
        with self._use("stats") as c:
            rc = _lib.tt_stats_get(c, ctypes.byref(s))
        _check(rc, "tt_stats_get")
        return {name: getattr(s, name) for name in _native.STATS_FIELDS}

    # ---- consent and upload
    @property
    def consent(self):
        """"unknown", "granted" or "denied": the answer that counts now. Settable."""
        v = ctypes.c_int(0)
        with self._use("consent") as c:
            rc = _lib.tt_consent_get(c, ctypes.byref(v))
        _check(rc, "tt_consent_get")
        return _CONSENT_NAMES.get(v.value, str(v.value))

    @consent.setter
    def consent(self, value):
        self.set_consent(value)

    def set_consent(self, value, policy_version=None):
        """Record the user's answer ("unknown", "granted", "denied"), for policy_version
        (None: the client's consent_policy_version option)."""
        if isinstance(value, str):
            try:
                v = _CONSENT[value.lower()]
            except KeyError:
                raise Error("TT_EINVAL", f"unknown consent value {value!r}",
                            'use "unknown", "granted" or "denied"', "docs/errors.md#einval",
                            _native.TT_EINVAL) from None
        elif isinstance(value, bool):
            v = 1 if value else 2
        else:
            v = int(value)
        with self._use("set_consent") as c:
            rc = _lib.tt_consent_set(c, v, _text(policy_version))
        _check(rc, "tt_consent_set")

    def upload_flush(self, timeout=10.0):
        """Deliver everything stored so far (flush() first) within timeout seconds.
        Error TT_ENOCONSENT without a "granted", TT_EINVAL without an endpoint, TT_ETIMEOUT."""
        with self._use("upload_flush") as c:
            rc = _lib.tt_upload_flush(c, _ms(timeout))
        _check(rc, "tt_upload_flush")

    # ---- reports
    def _report_options(self, description, contact, attachments, window_s, max_log_bytes,
                        max_attachment_bytes, automatic, scrub):
        o = _native.tt_report_options()
        o.version = _native.TT_REPORT_OPTIONS_VERSION
        o.description = _text(description)
        o.contact = _text(contact)
        o.window_s = int(window_s or 0)
        files = [_text(str(a)) for a in (attachments or ())]
        arr = (ctypes.c_char_p * max(1, len(files)))(*files)
        o.attachments = ctypes.cast(arr, ctypes.POINTER(ctypes.c_char_p)) if files else None
        o.attachment_count = len(files)
        o.max_log_bytes = int(max_log_bytes or 0)
        o.max_attachment_bytes = int(max_attachment_bytes or 0)
        o.flags = (_REPORT_AUTOMATIC if automatic else 0) | (0 if scrub else _REPORT_NO_SCRUB)
        return o, arr

    def _report_done(self, rc, buf, call):
        rid = buf.value.decode()
        if rc in (_native.TT_ELIMIT, _native.TT_EIO) and rid:
            err = _last_error(rc, call)
            warnings.warn(ReportWarning(err, rid), stacklevel=3)
            return rid
        _check(rc, call)
        return rid

    def report(self, description=None, contact=None, attachments=(), *, window_s=0, max_log_bytes=0,
               max_attachment_bytes=0, automatic=False, scrub=True):
        """File a problem report now and return its id (36 characters) to show the user.
        It is sent in the background. An attachment left out (too big, unreadable) gives
        a telltale.ReportWarning and the id; other failures raise telltale.Error."""
        o, keep = self._report_options(description, contact, attachments, window_s, max_log_bytes,
                                       max_attachment_bytes, automatic, scrub)
        buf = ctypes.create_string_buffer(_native.TT_REPORT_ID_SIZE)
        with self._use("report") as c:
            rc = _lib.tt_report_submit(c, ctypes.byref(o), buf)
        del keep
        return self._report_done(rc, buf, "tt_report_submit")

    def export_report(self, path, description=None, contact=None, attachments=(), *, window_s=0,
                      max_log_bytes=0, max_attachment_bytes=0, scrub=True):
        """Write the same report to path as a plain tar (manifest.json, logs.ndjson.zst,
        attachments/<name>); not sent. Returns its id."""
        o, keep = self._report_options(description, contact, attachments, window_s, max_log_bytes,
                                       max_attachment_bytes, False, scrub)
        buf = ctypes.create_string_buffer(_native.TT_REPORT_ID_SIZE)
        with self._use("export_report") as c:
            rc = _lib.tt_report_export(c, ctypes.byref(o), _text(str(path)), buf)
        del keep
        return self._report_done(rc, buf, "tt_report_export")

    def report_status(self, report_id):
        """"pending", "sent" or "failed" (vetoed by before_send, refused by the backend, or dropped
        over max_pending_reports)."""
        v = ctypes.c_int(0)
        with self._use("report_status") as c:
            rc = _lib.tt_report_status(c, _text(report_id), ctypes.byref(v))
        _check(rc, "tt_report_status")
        return _REPORT_STATES.get(v.value, str(v.value))

    @property
    def notice(self):
        """The backend's current incident notice, as last answered to a report; "" if none."""
        with self._use("notice") as c:
            return _decode(_lib.tt_notice_get(c))

    def refresh_notice(self, timeout_ms=5000):
        """Ask the backend now (a public GET of <endpoint>/v1/status) and return its notice,
        "" if none. Call it when the user opens the report screen, off the UI thread.
        Raises TelltaleError: TT_EINVAL (no endpoint), TT_ENET, TT_ETIMEOUT."""
        with self._use("refresh_notice") as c:
            rc = _lib.tt_notice_refresh(c, int(timeout_ms))
        _check(rc, "tt_notice_refresh")
        return self.notice

    # ---- requests and spans
    def request(self, method, url, *, parent=None, detached=False):
        """Begin a traced HTTP call: send .traceparent with it, pass the response headers
        to .header(name, value), then .end(status, error). As a context manager it ends
        itself: with the exception's text if one leaves the block."""
        return Request(self, method, url, parent=parent, detached=detached)

    def span(self, name):
        """Timed work that is not an HTTP call; a context manager."""
        return Span(self, name)

    def urlopen(self, url, data=None, timeout=None, **kwargs):
        """urllib.request.urlopen, traced: adds traceparent, records the status, the
        error and the server's request ids. Same arguments and result (and exceptions)."""
        import urllib.error
        import urllib.request

        req = url if isinstance(url, urllib.request.Request) else urllib.request.Request(url, data=data)
        if data is not None and isinstance(url, urllib.request.Request):
            req.data = data
        method = req.get_method()
        args = {} if timeout is None else {"timeout": timeout}
        with self.request(method, req.full_url) as r:
            req.add_header("Traceparent", r.traceparent)
            try:
                resp = urllib.request.urlopen(req, **args, **kwargs)
            except urllib.error.HTTPError as e:
                r.record_response(e)
                raise
            except urllib.error.URLError as e:
                r.end(0, f"{type(e.reason).__name__}: {e.reason}")
                raise
            except OSError as e:
                r.end(0, f"{type(e).__name__}: {e}")
                raise
            r.record_response(resp)
            return resp


def _before_send_thunk(fn):
    def thunk(_user, draft):
        try:
            manifest = _decode(_lib.tt_report_draft_manifest(draft))
            answer = fn(manifest)
            if answer is False:
                return 1
            if isinstance(answer, (str, bytes)):
                if _lib.tt_report_draft_set_manifest(draft, _text(answer)) != 0:
                    return 1
            return 0
        except BaseException:  # never let an exception cross into C
            traceback.print_exc()
            return 1
    return _native.tt_before_send_fn(thunk)


class _Traced:
    def __init__(self, client):
        self._client = client
        self._ptr = None

    def _need(self, what):
        if self._ptr is None:
            raise Error("TT_EMISUSE", f"{what}: the {type(self).__name__.lower()} has already ended",
                        "end a request or span once", "docs/errors.md#emisuse", _native.TT_EMISUSE)
        return self._ptr

    @property
    def ended(self):
        return self._ptr is None


class Request(_Traced):
    """A traced call to a server (see Client.request)."""

    def __init__(self, client, method, url, parent=None, detached=False):
        super().__init__(client)
        self.method = method
        self.url = url
        self.status = None
        out = ctypes.c_void_p()
        with client._use("request") as c:
            if parent is None and not detached:
                rc = _lib.tt_request_begin(ctypes.byref(out), c, _text(method), _text(url))
            else:
                o = _native.tt_request_options(_native.TT_REQUEST_OPTIONS_VERSION, _text(method), _text(url),
                                               _text(parent), 1 if detached else 0)
                rc = _lib.tt_request_begin_opts(ctypes.byref(out), c, ctypes.byref(o))
        _check(rc, "tt_request_begin")
        self._ptr = out.value
        self.traceparent = _decode(_lib.tt_request_traceparent(self._ptr))
        tid = ctypes.create_string_buffer(33)
        _check(_lib.tt_request_trace_id(self._ptr, tid), "tt_request_trace_id")
        self.trace_id = tid.value.decode()

    def header(self, name, value):
        """One response header; the ones carrying server request ids are kept."""
        _check(_lib.tt_request_header(self._need("header"), _text(name), _text(value)), "tt_request_header")

    def bytes(self, sent, received):
        _check(_lib.tt_request_bytes(self._need("bytes"), int(sent), int(received)), "tt_request_bytes")

    def end(self, status=0, error=None):
        """Record the outcome: the HTTP status (0: no response) and what failed, in words."""
        ptr = self._need("end")
        self._ptr = None
        self.status = status
        rc = _lib.tt_request_end(ptr, int(status or 0), _text(error))
        if rc == _native.TT_EFULL:
            return False
        _check(rc, "tt_request_end")
        return True

    def record_response(self, resp):
        """Record an http.client.HTTPResponse (or urllib's response / HTTPError): its
        headers and status; ends the request."""
        headers = resp.getheaders() if hasattr(resp, "getheaders") else list(resp.headers.items())
        for name, value in headers:
            self.header(name, value)
        status = getattr(resp, "status", None) or getattr(resp, "code", 0) or 0
        return self.end(status)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if self._ptr is not None:
            error = f"{exc_type.__name__}: {exc}" if exc_type else "abandoned (destroyed without end)"
            try:
                self.end(0, error)
            except Error:
                if exc_type is None:
                    raise
        return False


class Span(_Traced):
    """Timed work that is not an HTTP call (see Client.span)."""

    def __init__(self, client, name):
        super().__init__(client)
        self.name = name
        out = ctypes.c_void_p()
        with client._use("span") as c:
            rc = _lib.tt_span_begin(ctypes.byref(out), c, _text(name))
        _check(rc, "tt_span_begin")
        self._ptr = out.value

    def end(self, error=None):
        ptr = self._need("end")
        self._ptr = None
        rc = _lib.tt_span_end(ptr, _text(error))
        if rc == _native.TT_EFULL:
            return False
        _check(rc, "tt_span_end")
        return True

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if self._ptr is not None:
            try:
                self.end(f"{exc_type.__name__}: {exc}" if exc_type else None)
            except Error:
                if exc_type is None:
                    raise
        return False


# The attributes every LogRecord has; anything else came from extra={...}.
_RECORD_FIELDS = set(vars(logging.LogRecord("n", logging.INFO, "p", 1, "m", None, None))) | {"message", "asctime"}


def _severity(levelno):
    """logging levels to OTLP severity numbers: DEBUG 5, INFO 9, WARNING 13, ERROR 17,
    CRITICAL 21; custom levels go to the step below them (+1..3 within the step)."""
    if levelno < logging.DEBUG:
        return TRACE
    if levelno >= logging.CRITICAL:
        return FATAL
    base = {1: DEBUG, 2: INFO, 3: WARN, 4: ERROR}[levelno // 10]
    return base + min(3, (levelno % 10) * 4 // 10)


class Handler(logging.Handler):
    """A logging.Handler that stores records in a telltale Client.

        logging.getLogger().addHandler(telltale.Handler(client))

    Level mapping: DEBUG->debug, INFO->info, WARNING->warn, ERROR->error, CRITICAL->fatal.
    Attributes: logger.name, code.filepath, code.lineno, code.function, thread.name,
    exception.type/message/stacktrace when exc_info is given, and every extra={...} key.
    The message is record.getMessage() (or the formatter's output if one is set).
    Closing the handler does not close the client."""

    def __init__(self, client, level=logging.NOTSET):
        super().__init__(level)
        self.client = client

    def emit(self, record):
        try:
            msg = self.format(record) if self.formatter else record.getMessage()
            attrs = {
                "logger.name": record.name,
                "code.filepath": record.pathname,
                "code.lineno": record.lineno,
                "code.function": record.funcName,
                "thread.name": record.threadName,
            }
            if record.exc_info and record.exc_info[0] is not None:
                et, ev, tb = record.exc_info
                attrs["exception.type"] = et.__name__
                attrs["exception.message"] = str(ev)
                attrs["exception.stacktrace"] = "".join(traceback.format_exception(et, ev, tb))
            elif record.stack_info:
                attrs["code.stacktrace"] = record.stack_info
            for k, v in record.__dict__.items():
                if k not in _RECORD_FIELDS and not k.startswith("_"):
                    attrs[k] = v
            self.client.log(_severity(record.levelno), msg, **attrs)
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)

    def flush(self):
        if not self.client.closed:
            try:
                self.client.flush()
            except Error:
                pass
