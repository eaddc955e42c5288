// What the writer thread hands to storage: one event at a time inside a batch.
// The queue layer knows nothing about SQLite; the store implements this interface.
#pragma once
#include <cstdint>
#include <string_view>

#include "queue/records.hpp"

namespace tt::queue {

struct EventView {
    uint64_t time_ns;             // wall clock, ns since the Unix epoch
    int level;                    // OTLP severity number, 1..24
    uint32_t tid;                 // kernel thread id of the caller
    std::string_view msg;         // valid UTF-8
    std::string_view attrs_json;  // a JSON object, or empty for none
    std::string_view trace_id;    // 32 hex digits, or empty
    std::string_view span_id;     // 16 hex digits, or empty
};

class Sink {
public:
    virtual ~Sink() = default;
    virtual void begin() = 0;
    // Returns false if the event could not be stored (the batch then fails as a whole).
    virtual void add(const EventView &e) = 0;
    virtual void add_request(const RequestView &r) = 0;
    // Commit the batch; returns the number of records (events and requests) made
    // durable: all of the batch, or 0 if it failed.
    virtual uint64_t commit() = 0;
    // Housekeeping between batches (retention); called on the writer thread.
    virtual void idle() = 0;
    // Called from another thread when close has run out of time: cut short what is running.
    virtual void interrupt() noexcept = 0;
};

}  // namespace tt::queue
