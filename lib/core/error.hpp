// Status codes, the thread-local last error, and the exception that carries both
// through the C++ internals up to capi/, where it becomes a status.
#pragma once
#include <stdexcept>
#include <string>

#include "telltale/telltale.h"

namespace tt {

// Thrown inside the library; capi/ turns it into a status and tt_error_last().
class Error : public std::runtime_error {
public:
    Error(tt_status code, std::string message, std::string hint)
        : std::runtime_error(std::move(message)), code_(code), hint_(std::move(hint)) {}
    tt_status code() const noexcept { return code_; }
    const std::string &hint() const noexcept { return hint_; }

private:
    tt_status code_;
    std::string hint_;
};

// "docs/errors.md#einval" for TT_EINVAL.
const char *status_doc(tt_status s) noexcept;

// Record a failure for this thread and return its code (so: `return set_error(...)`).
tt_status set_error(tt_status code, std::string message, std::string hint) noexcept;
// Same, with fixed strings: allocates nothing, for the hot path.
tt_status set_error_static(tt_status code, const char *message, const char *hint) noexcept;

const tt_error *last_error() noexcept;
const char *status_name(tt_status s) noexcept;
const char *status_describe(tt_status s) noexcept;

}  // namespace tt
