// The onnxruntime API_IMPL_BEGIN/END pattern: every C entry point's body runs inside
// TT_API_BEGIN ... TT_API_END, which turns any exception into a status plus this
// thread's tt_error_last().
#pragma once
#include <new>
#include <string>

#include "core/error.hpp"

#define TT_API_BEGIN try {
#define TT_API_END                                                                                      \
    }                                                                                                   \
    catch (const tt::Error &e) {                                                                        \
        return tt::set_error(e.code(), e.what(), e.hint());                                             \
    }                                                                                                   \
    catch (const std::bad_alloc &) {                                                                    \
        return tt::set_error_static(TT_ENOMEM, "out of memory", "free memory or lower the caps in tt_options"); \
    }                                                                                                   \
    catch (const std::exception &e) {                                                                   \
        return tt::set_error(TT_EIO, std::string("unexpected failure: ") + e.what(),                   \
                             "please report this as a telltale bug, with this message");                \
    }                                                                                                   \
    catch (...) {                                                                                       \
        return tt::set_error_static(TT_EIO, "unexpected failure", "please report this as a telltale bug"); \
    }
