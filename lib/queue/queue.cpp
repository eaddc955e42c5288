#include "queue/queue.hpp"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "core/clock.hpp"
#include "core/text.hpp"

namespace tt::queue {
namespace {

constexpr std::string_view kTruncated = "\xE2\x80\xA6[truncated]";  // "…[truncated]"

bool all_zero(const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; ++i)
        if (p[i]) return false;
    return true;
}

void to_hex(const uint8_t *p, size_t n, char *out) {
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; ++i) {
        out[2 * i] = d[p[i] >> 4];
        out[2 * i + 1] = d[p[i] & 15];
    }
}

// Append text (from an app: any bytes) to out as valid UTF-8, cut to the char boundary
// and marked if it was truncated on the hot path. Returns true if bytes were replaced.
bool clean_text(std::string_view raw, bool truncated, std::string &out) {
    if (truncated) raw = raw.substr(0, text::utf8_complete(raw));  // never end inside a character
    bool repaired = false;
    if (text::utf8_valid(raw)) out.append(raw);
    else repaired = text::utf8_repair(raw, out);
    if (truncated) out.append(kTruncated);
    return repaired;
}

thread_local clock::TickConverter *t_conv = nullptr;

}  // namespace

Queue::Queue(QueueConfig cfg, Sink &sink) : cfg_(cfg), sink_(sink), waker_(new Waker) {}

Queue::~Queue() {
    if (thread_.joinable()) stop(0);
    std::lock_guard<std::mutex> lk(rings_mu_);
    for (Ring *r : rings_) r->release();
    rings_.clear();
    waker_->release();
}

void Queue::start() { thread_ = std::thread([this] { run(); }); }

Ring *Queue::add_ring(uint32_t tid) {
    auto *r = new Ring(cfg_.ring_bytes, waker_, tid);
    r->retain();  // one for the producer thread, one for us
    std::lock_guard<std::mutex> lk(rings_mu_);
    rings_.push_back(r);
    return r;
}

uint64_t Queue::logged() {
    std::lock_guard<std::mutex> lk(rings_mu_);
    uint64_t n = retired_logged_;
    for (Ring *r : rings_) n += r->logged();
    return n;
}

uint64_t Queue::dropped() {
    std::lock_guard<std::mutex> lk(rings_mu_);
    uint64_t n = retired_dropped_ + sink_dropped_.load(std::memory_order_relaxed);
    for (Ring *r : rings_) n += r->dropped();
    return n;
}

uint64_t Queue::requests() {
    std::lock_guard<std::mutex> lk(rings_mu_);
    uint64_t n = retired_requests_;
    for (Ring *r : rings_) n += r->requests();
    return n;
}

uint64_t Queue::requests_dropped() {
    std::lock_guard<std::mutex> lk(rings_mu_);
    uint64_t n = retired_req_dropped_ + sink_req_dropped_.load(std::memory_order_relaxed);
    for (Ring *r : rings_) n += r->requests_dropped();
    return n;
}

bool Queue::flush(uint32_t timeout_ms) {
    uint64_t my = flush_req_.fetch_add(1, std::memory_order_acq_rel) + 1;
    waker_->wake();
    std::unique_lock<std::mutex> lk(done_mu_);
    return done_cv_.wait_for(lk, std::chrono::milliseconds(timeout_ms), [&] { return flush_done_ >= my || exited_; }) &&
           flush_done_ >= my;
}

bool Queue::stop(uint32_t timeout_ms) {
    if (!thread_.joinable()) return true;
    stop_.store(true, std::memory_order_release);
    waker_->wake();
    bool clean;
    {
        std::unique_lock<std::mutex> lk(done_mu_);
        clean = done_cv_.wait_for(lk, std::chrono::milliseconds(timeout_ms), [&] { return exited_; });
    }
    if (!clean) {
        // Out of time: abandon what is left and cut the running transaction short.
        abandon_.store(true, std::memory_order_release);
        sink_.interrupt();
        waker_->wake();
    }
    thread_.join();
    return clean;
}

// Commit the open batch, count what it held as stored or dropped, open the next one.
void Queue::commit_batch() {
    bool ok = sink_.commit() > 0 || (in_batch_ + in_batch_requests_) == 0;
    (ok ? stored_ : sink_dropped_).fetch_add(in_batch_, std::memory_order_relaxed);
    (ok ? requests_stored_ : sink_req_dropped_).fetch_add(in_batch_requests_, std::memory_order_relaxed);
    in_batch_ = in_batch_requests_ = 0;
}

void Queue::handle_request(const RecordHeader &h, const char *p) {
    const char *cur = p + sizeof(RecordHeader);
    RequestView v{};
    v.fixed = reinterpret_cast<const RequestFixed *>(cur);
    cur += sizeof(RequestFixed);
    v.tid = h.tid;
    to_hex(h.trace_id, 16, trace_hex_);
    to_hex(h.span_id, 8, span_hex_);
    v.trace_id = {trace_hex_, 32};
    v.span_id = {span_hex_, 16};
    if (v.fixed->has_parent) {
        to_hex(v.fixed->parent_span, 8, parent_hex_);
        v.parent_span_id = {parent_hex_, 16};
    }
    bool repaired = false;
    for (int i = 0; i < kRequestStrings; ++i) {
        req_str_[i].clear();
        repaired |= clean_text(get_string(cur), false, req_str_[i]);
        v.str[i] = req_str_[i];
    }
    // Server ids: kept as rows for lookup and as one JSON object for display.
    if (id_text_.size() < 2u * h.nattrs) id_text_.resize(2u * h.nattrs);
    id_views_.clear();
    ids_json_.clear();
    for (uint16_t i = 0; i < h.nattrs; ++i) {
        for (int k = 0; k < 2; ++k) {
            std::string &t = id_text_[2 * i + k];
            t.clear();
            repaired |= clean_text(get_string(cur), false, t);
            id_views_.push_back(t);
        }
        ids_json_ += i ? ",\"" : "{\"";
        text::json_escape(id_views_[2 * i], ids_json_);
        ids_json_ += "\":\"";
        text::json_escape(id_views_[2 * i + 1], ids_json_);
        ids_json_ += '"';
    }
    if (h.nattrs) ids_json_ += '}';
    v.server_ids_json = ids_json_;
    v.id_pairs = id_views_.data();
    v.n_ids = h.nattrs;
    if (repaired) repaired_.fetch_add(1, std::memory_order_relaxed);
    sink_.add_request(v);
}

bool Queue::handle(const RecordHeader &h, const char *p) {
    if (abandon_.load(std::memory_order_relaxed)) {
        (h.level == kRequestLevel ? sink_req_dropped_ : sink_dropped_).fetch_add(1, std::memory_order_relaxed);
        return true;
    }
    if (h.level == kRequestLevel) {
        handle_request(h, p);
        ++in_batch_requests_;
    } else {
        handle_event(h, p);
        ++in_batch_;
    }
    if (in_batch_ + in_batch_requests_ >= cfg_.batch_size) {
        commit_batch();
        t_conv->anchor();
        sink_.begin();
    }
    return true;
}

void Queue::handle_event(const RecordHeader &h, const char *p) {
    const char *cur = p + sizeof(RecordHeader);
    msg_.clear();
    attrs_.clear();
    bool repaired = clean_text({cur, h.msg_len}, h.flags & kFlagMsgTruncated, msg_);
    cur += h.msg_len;
    if (h.nattrs || (h.flags & kFlagAttrsDropped)) {
        attrs_ += '{';
        bool attr_truncated = h.flags & kFlagAttrTruncated;
        for (uint16_t i = 0; i < h.nattrs; ++i) {
            uint32_t kl, vl;
            std::memcpy(&kl, cur, 4);
            std::memcpy(&vl, cur + 4, 4);
            cur += 8;
            // The top bit of a length marks a value cut on the hot path.
            bool kcut = kl & 0x80000000u, vcut = vl & 0x80000000u;
            kl &= 0x7FFFFFFFu;
            vl &= 0x7FFFFFFFu;
            if (i) attrs_ += ',';
            attrs_ += '"';
            scratch_.clear();
            repaired |= clean_text({cur, kl}, kcut && attr_truncated, scratch_);
            text::json_escape(scratch_, attrs_);
            attrs_ += "\":\"";
            cur += kl;
            scratch_.clear();
            repaired |= clean_text({cur, vl}, vcut && attr_truncated, scratch_);
            text::json_escape(scratch_, attrs_);
            attrs_ += '"';
            cur += vl;
        }
        if (h.flags & kFlagAttrsDropped) attrs_ += h.nattrs ? ",\"telltale.attrs_dropped\":\"true\"" : "\"telltale.attrs_dropped\":\"true\"";
        attrs_ += '}';
    }
    if (repaired) repaired_.fetch_add(1, std::memory_order_relaxed);
    if (h.flags) truncated_.fetch_add(1, std::memory_order_relaxed);

    EventView e{t_conv->to_ns(h.ticks), h.level, h.tid, msg_, attrs_, {}, {}};
    if (!all_zero(h.trace_id, 16)) {
        to_hex(h.trace_id, 16, trace_hex_);
        e.trace_id = {trace_hex_, 32};
        to_hex(h.span_id, 8, span_hex_);
        e.span_id = {span_hex_, 16};
    }
    sink_.add(e);
}

// Drain every ring up to the heads seen at the start; returns how many records.
uint64_t Queue::drain_round() {
    {
        std::lock_guard<std::mutex> lk(rings_mu_);
        snapshot_.assign(rings_.begin(), rings_.end());  // capacity is reused: no allocation when steady
    }
    heads_.resize(snapshot_.size());
    uint64_t pending = 0;
    for (size_t i = 0; i < snapshot_.size(); ++i) {
        heads_[i] = snapshot_[i]->head();
        pending += heads_[i] - snapshot_[i]->tail();
    }
    if (pending == 0) return 0;
    t_conv->anchor();
    in_batch_ = in_batch_requests_ = 0;
    sink_.begin();
    uint64_t n = 0;
    for (size_t i = 0; i < snapshot_.size(); ++i)
        n += snapshot_[i]->consume(heads_[i], [this](const RecordHeader &h, const char *p) { return handle(h, p); });
    // handle() commits every full batch and opens the next one: commit the rest.
    commit_batch();
    return n;
}

bool Queue::any_pending() {
    std::lock_guard<std::mutex> lk(rings_mu_);
    for (Ring *r : rings_)
        if (!r->empty()) return true;
    return false;
}

// Rings whose thread has exited and that are empty: fold their counters and let go.
void Queue::retire_finished_rings() {
    std::lock_guard<std::mutex> lk(rings_mu_);
    for (size_t i = 0; i < rings_.size();) {
        Ring *r = rings_[i];
        if (r->producer_gone() && r->empty()) {
            retired_logged_ += r->logged();
            retired_dropped_ += r->dropped();
            retired_requests_ += r->requests();
            retired_req_dropped_ += r->requests_dropped();
            rings_[i] = rings_.back();
            rings_.pop_back();
            r->release();
        } else {
            ++i;
        }
    }
}

void Queue::run() {
    // A little below the app's threads: a log call that wakes this writer should not hand
    // it the caller's CPU (docs/benchmarks.md, finding 10). Per thread on Linux; no
    // privilege needed to lower one's own priority.
    auto self = static_cast<id_t>(syscall(SYS_gettid));
    errno = 0;
    int prio = getpriority(PRIO_PROCESS, self);
    if (errno == 0) setpriority(PRIO_PROCESS, self, std::min(prio + 5, 19));
    clock::TickConverter conv;
    t_conv = &conv;
    for (;;) {
        uint64_t req = flush_req_.load(std::memory_order_acquire);
        bool stopping = stop_.load(std::memory_order_acquire);
        bool abandon = abandon_.load(std::memory_order_acquire);
        uint64_t n = 0;
        try {
            sink_.idle();  // housekeeping first (recovery, time-gated age retention), so a flush sees its effect
            n = drain_round();
        } catch (...) {
            // The sink reports its own problems; a throw here must not kill the thread.
        }
        {
            std::lock_guard<std::mutex> lk(done_mu_);
            if (req > flush_done_) flush_done_ = req;
        }
        done_cv_.notify_all();
        if ((stopping && n == 0) || abandon) break;
        if (n >= cfg_.batch_size) continue;  // busy: go straight on
        retire_finished_rings();
        // Nothing came in: sleep long, and let the next log call wake us (Ring::reserve).
        // Something came: come back within the commit interval for what follows it.
        // Idle only after a second of silence: an app that logs every few hundred ms
        // never pays the wake-up (a futex call) on its log calls.
        empty_rounds_ = n == 0 ? empty_rounds_ + 1 : 0;
        bool idle = empty_rounds_ * cfg_.commit_interval_ms >= 1000;
        std::unique_lock<std::mutex> lk(waker_->mu);
        if (idle) waker_->idle.store(true, std::memory_order_seq_cst);
        // A record published just before idle was set is seen by this re-check.
        if (idle && any_pending()) idle = false;
        waker_->cv.wait_for(lk, std::chrono::milliseconds(idle ? kIdleWaitMs : cfg_.commit_interval_ms),
                            [&] { return waker_->pending; });
        waker_->pending = false;
        waker_->idle.store(false, std::memory_order_relaxed);
    }
    if (abandon_.load(std::memory_order_acquire)) {
        // Whatever the rings still hold is lost: count it.
        std::lock_guard<std::mutex> lk(rings_mu_);
        for (Ring *r : rings_) r->consume(r->head(), [this](const RecordHeader &h, const char *) {
            (h.level == kRequestLevel ? sink_req_dropped_ : sink_dropped_).fetch_add(1, std::memory_order_relaxed);
            return true;
        });
    }
    t_conv = nullptr;
    std::lock_guard<std::mutex> lk(done_mu_);
    exited_ = true;
    done_cv_.notify_all();
}

}  // namespace tt::queue
