#include "core/error.hpp"

namespace tt {
namespace {

struct Names {
    tt_status code;
    const char *name;
    const char *doc;
    const char *describe;
};

// Indexed by -code. Append only: codes are never renumbered.
constexpr Names kNames[] = {
    {TT_OK, "TT_OK", "docs/errors.md#ok", "success"},
    {TT_EINVAL, "TT_EINVAL", "docs/errors.md#einval", "an argument is missing or out of range"},
    {TT_EMISUSE, "TT_EMISUSE", "docs/errors.md#emisuse", "the API was used the wrong way"},
    {TT_ESTORE, "TT_ESTORE", "docs/errors.md#estore", "the local SQLite buffer could not be used"},
    {TT_EFULL, "TT_EFULL", "docs/errors.md#efull", "the queue was full; the event was dropped and counted"},
    {TT_ENOCONSENT, "TT_ENOCONSENT", "docs/errors.md#enoconsent", "the user has not agreed to share usage data"},
    {TT_ENET, "TT_ENET", "docs/errors.md#enet", "the network or the server failed"},
    {TT_EIO, "TT_EIO", "docs/errors.md#eio", "a file could not be read or written"},
    {TT_ENOMEM, "TT_ENOMEM", "docs/errors.md#enomem", "out of memory"},
    {TT_ETIMEOUT, "TT_ETIMEOUT", "docs/errors.md#etimeout", "the operation did not finish in time"},
    {TT_ENOTFOUND, "TT_ENOTFOUND", "docs/errors.md#enotfound", "no such item"},
    {TT_ECORRUPT, "TT_ECORRUPT", "docs/errors.md#ecorrupt", "a damaged file was found"},
    {TT_ELIMIT, "TT_ELIMIT", "docs/errors.md#elimit", "a configured limit was exceeded"},
    {TT_ECANCELED, "TT_ECANCELED", "docs/errors.md#ecanceled", "the app's own callback called the operation off"},
};

const Names *find(tt_status s) noexcept {
    if (s > 0 || -s >= static_cast<tt_status>(sizeof kNames / sizeof kNames[0])) return nullptr;
    return &kNames[-s];
}

struct LastError {
    std::string message = "no error";
    std::string hint;
    tt_error view{TT_OK, "no error", "", "docs/errors.md#ok"};
};

LastError &tls() noexcept {
    thread_local LastError e;
    return e;
}

}  // namespace

const char *status_doc(tt_status s) noexcept {
    const Names *n = find(s);
    return n ? n->doc : "docs/errors.md";
}

tt_status set_error(tt_status code, std::string message, std::string hint) noexcept {
    LastError &e = tls();
    try {
        e.message = std::move(message);
        e.hint = std::move(hint);
        e.view = {code, e.message.c_str(), e.hint.c_str(), status_doc(code)};
    } catch (...) {
        e.view = {code, "out of memory while recording an error", "", status_doc(code)};
    }
    return code;
}

tt_status set_error_static(tt_status code, const char *message, const char *hint) noexcept {
    tls().view = {code, message, hint, status_doc(code)};
    return code;
}

const tt_error *last_error() noexcept { return &tls().view; }

const char *status_name(tt_status s) noexcept {
    const Names *n = find(s);
    return n ? n->name : "TT_UNKNOWN";
}

const char *status_describe(tt_status s) noexcept {
    const Names *n = find(s);
    return n ? n->describe : "unknown status code (from a newer telltale?)";
}

}  // namespace tt

