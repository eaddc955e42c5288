// Identifiers from the kernel's CSPRNG (getrandom): install, session, report, trace ids.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace tt::ids {

// Fill buf with n random bytes from getrandom(2). Throws tt::Error(TT_EIO) if the kernel refuses.
void random_bytes(void *buf, size_t n);

// Same source, served from a per-thread buffer refilled 4 KiB at a time, so that a
// trace or span id costs no syscall. Refilled after fork(), so children never repeat
// their parent's ids.
void random_bytes_buffered(void *buf, size_t n);

// RFC 9562 version 4 UUID in lower-case text form (36 characters).
std::string uuid4();

// Lower-case hex of n bytes.
std::string hex(const void *data, size_t n);

}  // namespace tt::ids
