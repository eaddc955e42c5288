"""ctypes declarations of the telltale C ABI (include/telltale/telltale.h).

Private: the public API is in telltale/__init__.py. Every struct here copies the field
order of telltale.h exactly; a versioned struct is only ever used with its version set.
"""
import ctypes
import ctypes.util
import os

c_status = ctypes.c_int
c_u32 = ctypes.c_uint32
c_u64 = ctypes.c_uint64

TT_OPTIONS_VERSION = 4
TT_STATS_VERSION = 3
TT_REPORT_OPTIONS_VERSION = 1
TT_REQUEST_OPTIONS_VERSION = 1
TT_REPORT_ID_SIZE = 37

STATUS_NAMES = {
    0: "TT_OK", -1: "TT_EINVAL", -2: "TT_EMISUSE", -3: "TT_ESTORE", -4: "TT_EFULL",
    -5: "TT_ENOCONSENT", -6: "TT_ENET", -7: "TT_EIO", -8: "TT_ENOMEM", -9: "TT_ETIMEOUT",
    -10: "TT_ENOTFOUND", -11: "TT_ECORRUPT", -12: "TT_ELIMIT",
    -13: "TT_ECANCELED",
}
TT_OK, TT_EINVAL, TT_EMISUSE, TT_EFULL, TT_EIO, TT_ELIMIT = 0, -1, -2, -4, -7, -12


class tt_error(ctypes.Structure):
    _fields_ = [
        ("code", c_status),
        ("message", ctypes.c_char_p),
        ("hint", ctypes.c_char_p),
        ("doc", ctypes.c_char_p),
    ]


# int (*tt_before_send_fn)(void *user_data, struct tt_report_draft *draft)
tt_before_send_fn = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)


class tt_options(ctypes.Structure):
    _fields_ = [
        ("version", ctypes.c_uint),
        ("db_path", ctypes.c_char_p),
        ("app_name", ctypes.c_char_p),
        ("app_version", ctypes.c_char_p),
        ("endpoint", ctypes.c_char_p),
        ("max_db_bytes", c_u64),
        ("max_age_s", c_u32),
        ("upload_interval_ms", c_u32),
        ("retry_base_ms", c_u32),
        ("retry_max_ms", c_u32),
        ("queue_bytes", c_u32),
        ("batch_size", c_u32),
        ("max_message_bytes", c_u32),
        ("max_attr_bytes", c_u32),
        ("max_attrs", c_u32),
        ("commit_interval_ms", c_u32),
        ("full_policy", ctypes.c_int),  # enum tt_full_policy
        # version 2
        ("request_id_headers", ctypes.c_char_p),
        ("url_query_keys", ctypes.c_char_p),
        # version 3
        ("auth_token", ctypes.c_char_p),
        ("ca_file", ctypes.c_char_p),
        ("proxy", ctypes.c_char_p),
        ("compression", ctypes.c_int),  # enum tt_codec
        ("upload_timeout_ms", c_u32),
        ("upload_batch_events", c_u32),
        ("max_upload_bytes_per_hour", c_u64),
        ("consent_policy_version", ctypes.c_char_p),
        ("consent_flags", ctypes.c_uint),
        # version 4
        ("report_flags", ctypes.c_uint),
        ("before_send", tt_before_send_fn),
        ("before_send_data", ctypes.c_void_p),
        ("max_pending_reports", c_u32),
    ]


STATS_FIELDS = [
    "logged", "dropped", "stored", "evicted", "uploaded", "upload_failures",
    "reports_pending", "db_bytes", "pending_upload",
    "truncated", "repaired", "store_errors", "corrupt_recovered", "events",
    # version 2
    "requests", "requests_dropped", "bad_traceparents", "headers_capped",
    # version 3
    "spans_uploaded", "upload_dropped", "upload_bytes",
]


class tt_stats(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint)] + [(name, c_u64) for name in STATS_FIELDS]


class tt_attr(ctypes.Structure):
    _fields_ = [("key", ctypes.c_char_p), ("value", ctypes.c_char_p)]


class tt_report_options(ctypes.Structure):
    _fields_ = [
        ("version", ctypes.c_uint),
        ("description", ctypes.c_char_p),
        ("contact", ctypes.c_char_p),
        ("window_s", c_u32),
        ("attachments", ctypes.POINTER(ctypes.c_char_p)),
        ("attachment_count", ctypes.c_size_t),
        ("max_log_bytes", c_u64),
        ("max_attachment_bytes", c_u64),
        ("flags", ctypes.c_uint),
    ]


class tt_request_options(ctypes.Structure):
    _fields_ = [
        ("version", ctypes.c_uint),
        ("method", ctypes.c_char_p),
        ("url", ctypes.c_char_p),
        ("parent", ctypes.c_char_p),
        ("flags", ctypes.c_uint),
    ]


P = ctypes.POINTER
c_client_p = ctypes.c_void_p
c_request_p = ctypes.c_void_p

# name: (restype, argtypes)
SIGNATURES = {
    "tt_error_last": (P(tt_error), []),
    "tt_status_name": (ctypes.c_char_p, [c_status]),
    "tt_status_describe": (ctypes.c_char_p, [c_status]),
    "tt_version": (ctypes.c_char_p, []),
    "tt_options_init": (None, [P(tt_options)]),
    "tt_open": (c_status, [P(c_client_p), P(tt_options)]),
    "tt_flush": (c_status, [c_client_p, c_u32]),
    "tt_close": (c_status, [c_client_p, c_u32]),
    "tt_log": (c_status, [c_client_p, ctypes.c_int, ctypes.c_char_p]),
    "tt_log_attrs": (c_status, [c_client_p, ctypes.c_int, ctypes.c_char_p, P(tt_attr), ctypes.c_size_t]),
    "tt_stats_init": (None, [P(tt_stats)]),
    "tt_stats_get": (c_status, [c_client_p, P(tt_stats)]),
    "tt_consent_set": (c_status, [c_client_p, ctypes.c_int, ctypes.c_char_p]),
    "tt_consent_get": (c_status, [c_client_p, P(ctypes.c_int)]),
    "tt_upload_flush": (c_status, [c_client_p, c_u32]),
    "tt_network_changed": (None, []),
    "tt_report_submit": (c_status, [c_client_p, P(tt_report_options), ctypes.c_char_p]),
    "tt_report_export": (c_status, [c_client_p, P(tt_report_options), ctypes.c_char_p, ctypes.c_char_p]),
    "tt_report_status": (c_status, [c_client_p, ctypes.c_char_p, P(ctypes.c_int)]),
    "tt_notice_get": (ctypes.c_char_p, [c_client_p]),
    "tt_notice_refresh": (ctypes.c_int, [c_client_p, ctypes.c_uint32]),
    "tt_report_draft_manifest": (ctypes.c_char_p, [ctypes.c_void_p]),
    "tt_report_draft_set_manifest": (c_status, [ctypes.c_void_p, ctypes.c_char_p]),
    "tt_request_begin": (c_status, [P(c_request_p), c_client_p, ctypes.c_char_p, ctypes.c_char_p]),
    "tt_request_begin_opts": (c_status, [P(c_request_p), c_client_p, P(tt_request_options)]),
    "tt_request_traceparent": (ctypes.c_char_p, [c_request_p]),
    "tt_request_trace_id": (c_status, [c_request_p, ctypes.c_char_p]),
    "tt_request_header": (c_status, [c_request_p, ctypes.c_char_p, ctypes.c_char_p]),
    "tt_request_bytes": (c_status, [c_request_p, c_u64, c_u64]),
    "tt_request_end": (c_status, [c_request_p, ctypes.c_int, ctypes.c_char_p]),
    "tt_span_begin": (c_status, [P(ctypes.c_void_p), c_client_p, ctypes.c_char_p]),
    "tt_span_end": (c_status, [ctypes.c_void_p, ctypes.c_char_p]),
}


def _candidates():
    """Where the library is looked for, in order (DESIGN.md, "Python binding")."""
    env = os.environ.get("TELLTALE_LIBRARY")
    if env:
        return [env], True
    here = os.path.dirname(os.path.abspath(__file__))
    names = ["libtelltale.so.0", "libtelltale.so", "libtelltale.dylib", "telltale.dll"]
    found = [os.path.join(d, n) for d in (here, os.path.dirname(here)) for n in names
             if os.path.exists(os.path.join(d, n))]
    if found:
        return found[:1], True
    # The system loader: an installed runtime has libtelltale.so.0 (the SONAME); the
    # unversioned libtelltale.so only comes with the development files.
    system = ["libtelltale.so.0", "libtelltale.so"]
    found = ctypes.util.find_library("telltale")
    if found:
        system.append(found)
    return system, False


def load():
    paths, explicit = _candidates()
    errors = []
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
            break
        except OSError as e:
            errors.append(str(e))
    else:
        if explicit:
            where = paths[0]
            why = "; ".join(errors)
            raise ImportError(f"telltale: cannot load the library {where!r} ({why}). "
                              "Hint: set TELLTALE_LIBRARY to the path of libtelltale.so.0")
        raise ImportError("telltale: libtelltale.so.0 not found (" + "; ".join(errors) + "). "
                          "Hint: install the library (cmake --install), put it next to the "
                          "telltale package, or set TELLTALE_LIBRARY to its path")
    for name, (restype, argtypes) in SIGNATURES.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    return lib, path
