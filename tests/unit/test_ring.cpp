#include <doctest/doctest.h>

#include <cstring>
#include <thread>
#include <vector>

#include "queue/ring.hpp"

using namespace tt::queue;

namespace {

// A record of n bytes (multiple of 8) whose payload is `tag` repeated.
bool push(Ring &r, uint32_t n, uint8_t tag) {
    char *p = r.reserve(n);
    if (!p) return false;
    auto *h = reinterpret_cast<RecordHeader *>(p);
    h->size = n;
    h->level = tag;
    std::memset(p + sizeof(RecordHeader), tag, n - sizeof(RecordHeader));
    r.commit();
    return true;
}

}  // namespace

TEST_CASE("ring: records come out in order, across the wrap, and full means full") {
    auto *w = new Waker;
    auto *r = new Ring(1024, w, 1);
    std::vector<uint8_t> got;
    auto take = [&](const RecordHeader &h, const char *p) {
        for (uint32_t i = sizeof(RecordHeader); i < h.size; ++i) REQUIRE(static_cast<uint8_t>(p[i]) == h.level);
        got.push_back(h.level);
        return true;
    };
    // 3 x 304 bytes fit in 1024, the 4th does not.
    CHECK(push(*r, 304, 1));
    CHECK(push(*r, 304, 2));
    CHECK(push(*r, 304, 3));
    CHECK_FALSE(push(*r, 304, 4));
    CHECK(r->consume(r->head(), take) == 3);
    // Now the next record must wrap: 912 used of 1024, 112 left at the end.
    CHECK(push(*r, 304, 5));
    CHECK(push(*r, 304, 6));
    CHECK(r->consume(r->head(), take) == 2);
    CHECK(got == std::vector<uint8_t>{1, 2, 3, 5, 6});
    CHECK(r->empty());
    r->release();
    w->release();
}

TEST_CASE("ring: one producer and one consumer thread, every record intact and in order") {
    auto *w = new Waker;
    auto *r = new Ring(4096, w, 1);
    const int n = 200000;
    std::thread prod([&] {
        for (int i = 0; i < n;) {
            uint32_t size = 48 + 8 * static_cast<uint32_t>(i % 7);
            char *p = r->reserve(size);
            if (!p) {
                std::this_thread::yield();
                continue;
            }
            auto *h = reinterpret_cast<RecordHeader *>(p);
            h->size = size;
            h->ticks = static_cast<uint64_t>(i);
            r->commit();
            ++i;
        }
    });
    uint64_t next = 0;
    while (next < static_cast<uint64_t>(n)) {
        r->consume(r->head(), [&](const RecordHeader &h, const char *) {
            REQUIRE(h.ticks == next);
            REQUIRE(h.size == 48 + 8 * (next % 7));
            ++next;
            return true;
        });
    }
    prod.join();
    r->release();
    w->release();
}
