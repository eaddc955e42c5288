// Shared by the request entry points and the libcurl helper.
#pragma once
#include <cstdint>

#include "telltale/telltale.h"
#include "trace/request.hpp"

namespace tt::capi {

// Throw tt::Error on misuse; return a status for argument errors (already recorded).
tt_status request_begin(void **out, tt_client *c, uint8_t kind, const char *what, const char *url, const char *parent,
                        unsigned flags, const char *fn);
trace::Request *live_request(const void *p, const char *fn);
// Records and releases the request (in every case).
tt_status request_end(void *p, int status, const char *error, const char *fn);

}  // namespace tt::capi
