#include "core/ids.hpp"

#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <atomic>
#include <memory>
#include <mutex>

#include <pthread.h>

#include "core/error.hpp"

namespace tt::ids {

void random_bytes(void *buf, size_t n) {
    auto *p = static_cast<unsigned char *>(buf);
    while (n > 0) {
        ssize_t got = getrandom(p, n, 0);
        if (got < 0) {
            if (errno == EINTR) continue;
            throw Error(TT_EIO, std::string("cannot read random bytes from the kernel: ") + std::strerror(errno),
                        "check that getrandom(2) is allowed (seccomp filters, very old kernels)");
        }
        p += got;
        n -= static_cast<size_t>(got);
    }
}

namespace {
// getpid() is a system call (~120 ns here); the pid only changes across fork().
std::atomic<pid_t> g_pid{0};
void forget_pid() { g_pid.store(0, std::memory_order_relaxed); }
pid_t current_pid() {
    pid_t p = g_pid.load(std::memory_order_relaxed);
    if (p) return p;
    static std::once_flag once;
    std::call_once(once, [] { pthread_atfork(nullptr, nullptr, forget_pid); });
    p = getpid();
    g_pid.store(p, std::memory_order_relaxed);
    return p;
}
}  // namespace

void random_bytes_buffered(void *buf, size_t n) {
    struct Pool {
        unsigned char bytes[4096];
        size_t used = sizeof bytes;
        pid_t pid = 0;
    };
    // On the heap: the library's thread-local block must stay tiny, since it is
    // allocated statically (initial-exec TLS) even when the library is dlopen'ed.
    thread_local std::unique_ptr<Pool> owned;
    if (!owned) owned = std::make_unique<Pool>();
    Pool &pool = *owned;
    if (n > sizeof pool.bytes) return random_bytes(buf, n);
    pid_t pid = current_pid();
    if (pool.used + n > sizeof pool.bytes || pool.pid != pid) {
        random_bytes(pool.bytes, sizeof pool.bytes);
        pool.used = 0;
        pool.pid = pid;
    }
    std::memcpy(buf, pool.bytes + pool.used, n);
    std::memset(pool.bytes + pool.used, 0, n);  // a used id does not linger in memory
    pool.used += n;
}

std::string hex(const void *data, size_t n) {
    static const char digits[] = "0123456789abcdef";
    auto *p = static_cast<const unsigned char *>(data);
    std::string out(n * 2, '0');
    for (size_t i = 0; i < n; ++i) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    return out;
}

std::string uuid4() {
    unsigned char b[16];
    random_bytes(b, sizeof b);
    b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);
    b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);
    std::string h = hex(b, 16);
    return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" + h.substr(20);
}

}  // namespace tt::ids
