#include "ingest.hpp"

#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <ctime>
#include <nlohmann/json.hpp>

namespace tsb {

using nlohmann::json;

struct Decoder::State {
    ZSTD_DStream *zs = nullptr;
    z_stream gz{};
    bool gz_open = false;
};

Decoder::Decoder(std::string_view enc, size_t cap) : cap_(cap), st_(std::make_unique<State>()) {
    if (enc.empty() || enc == "identity") kind_ = Kind::kIdentity;
    else if (enc == "zstd") {
        kind_ = Kind::kZstd;
        st_->zs = ZSTD_createDStream();
        ZSTD_initDStream(st_->zs);
        // zstd frames may declare a huge window; refuse windows above 64 MiB so one
        // request cannot make us reserve more than that.
        ZSTD_DCtx_setParameter(st_->zs, ZSTD_d_windowLogMax, 26);
    } else if (enc == "gzip" || enc == "x-gzip" || enc == "deflate") {
        kind_ = Kind::kGzip;
        // 15 + 32: accept a gzip or a zlib header, whichever comes.
        st_->gz_open = inflateInit2(&st_->gz, 15 + 32) == Z_OK;
        if (!st_->gz_open) kind_ = Kind::kUnknown;
    } else {
        kind_ = Kind::kUnknown;
    }
}

Decoder::~Decoder() {
    if (st_->zs) ZSTD_freeDStream(st_->zs);
    if (st_->gz_open) inflateEnd(&st_->gz);
}

Decoder::Result Decoder::feed(const char *data, size_t n) {
    if (n == 0) return Result::kOk;
    char buf[64 * 1024];
    switch (kind_) {
        case Kind::kUnknown:
            error_ = "unsupported Content-Encoding";
            return Result::kBad;
        case Kind::kIdentity:
            if (out_.size() + n > cap_) return error_ = "body over the size cap", Result::kTooLarge;
            out_.append(data, n);
            return Result::kOk;
        case Kind::kZstd: {
            ZSTD_inBuffer in{data, n, 0};
            for (;;) {
                ZSTD_outBuffer o{buf, sizeof buf, 0};
                size_t r = ZSTD_decompressStream(st_->zs, &o, &in);
                if (ZSTD_isError(r)) return error_ = std::string("zstd: ") + ZSTD_getErrorName(r), Result::kBad;
                if (out_.size() + o.pos > cap_) return error_ = "body over the size cap once decompressed", Result::kTooLarge;
                out_.append(buf, o.pos);
                frame_done_ = r == 0;
                // Done with this input when it is consumed and zstd holds nothing more back.
                if (in.pos == in.size && o.pos < o.size) break;
            }
            return Result::kOk;
        }
        case Kind::kGzip: {
            z_stream &z = st_->gz;
            z.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(data));
            z.avail_in = static_cast<uInt>(n);
            while (z.avail_in > 0) {
                z.next_out = reinterpret_cast<Bytef *>(buf);
                z.avail_out = sizeof buf;
                int r = inflate(&z, Z_NO_FLUSH);
                size_t got = sizeof buf - z.avail_out;
                if (r != Z_OK && r != Z_STREAM_END && !(r == Z_BUF_ERROR && got))
                    return error_ = std::string("gzip: ") + (z.msg ? z.msg : "bad data"), Result::kBad;
                if (out_.size() + got > cap_) return error_ = "body over the size cap once decompressed", Result::kTooLarge;
                out_.append(buf, got);
                frame_done_ = r == Z_STREAM_END;
                if (r == Z_STREAM_END && z.avail_in > 0) inflateReset(&z);  // another gzip member follows
            }
            // Drain output still pending inside zlib.
            for (;;) {
                z.next_out = reinterpret_cast<Bytef *>(buf);
                z.avail_out = sizeof buf;
                int r = inflate(&z, Z_NO_FLUSH);
                size_t got = sizeof buf - z.avail_out;
                if (out_.size() + got > cap_) return error_ = "body over the size cap once decompressed", Result::kTooLarge;
                out_.append(buf, got);
                if (r == Z_STREAM_END) frame_done_ = true;
                if (got == 0 || r != Z_OK) break;
            }
            return Result::kOk;
        }
    }
    return Result::kBad;
}

Decoder::Result Decoder::finish() {
    if (kind_ == Kind::kUnknown) return error_ = "unsupported Content-Encoding", Result::kBad;
    if (!frame_done_) return error_ = "compressed body ends before its frame does", Result::kBad;
    return Result::kOk;
}

Decoder::Result decode_all(std::string_view enc, std::string_view body, size_t cap, std::string &out) {
    Decoder d(enc, cap);
    if (body.size() > cap) return Decoder::Result::kTooLarge;
    // Feed in pieces, as the network does.
    for (size_t at = 0; at < body.size(); at += 16384) {
        auto r = d.feed(body.data() + at, std::min<size_t>(16384, body.size() - at));
        if (r != Decoder::Result::kOk) return r;
    }
    auto r = d.finish();
    out = std::move(d.out());
    return r;
}

// ---------------------------------------------------------------- OTLP JSON

namespace {

constexpr size_t kMaxText = 64 * 1024;  // one message or attribute value

std::string cut(std::string s) {
    if (s.size() > kMaxText) s.resize(kMaxText);
    return s;
}

// AnyValue -> text: strings as they are, numbers and bools printed, arrays/maps as JSON.
std::string any_text(const json &v) {
    if (!v.is_object()) return v.is_string() ? v.get<std::string>() : v.dump();
    if (auto it = v.find("stringValue"); it != v.end() && it->is_string()) return it->get<std::string>();
    if (auto it = v.find("intValue"); it != v.end()) return it->is_string() ? it->get<std::string>() : it->dump();
    if (auto it = v.find("boolValue"); it != v.end() && it->is_boolean()) return it->get<bool>() ? "true" : "false";
    if (auto it = v.find("doubleValue"); it != v.end()) return it->dump();
    if (auto it = v.find("bytesValue"); it != v.end() && it->is_string()) return it->get<std::string>();
    if (auto it = v.find("arrayValue"); it != v.end()) return it->dump();
    if (auto it = v.find("kvlistValue"); it != v.end()) return it->dump();
    return "";
}

// Nanoseconds written as a string of digits; 0 when it is not one or too large.
int64_t nanos_text(const std::string &s) {
    int64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9' || v > (INT64_MAX - 9) / 10) return 0;
        v = v * 10 + (c - '0');
    }
    return v;
}

int64_t nanos(const json &o, const char *key) {
    auto it = o.find(key);
    if (it == o.end()) return 0;
    if (it->is_number_integer()) return it->get<int64_t>();
    if (it->is_number_unsigned()) return static_cast<int64_t>(std::min<uint64_t>(it->get<uint64_t>(), INT64_MAX));
    if (it->is_string()) return nanos_text(it->get_ref<const std::string &>());
    return 0;
}

std::string str(const json &o, const char *key) {
    auto it = o.find(key);
    return it != o.end() && it->is_string() ? cut(it->get<std::string>()) : std::string();
}

int integer(const json &o, const char *key) {
    auto it = o.find(key);
    if (it == o.end()) return 0;
    if (it->is_number_integer()) return static_cast<int>(std::clamp<int64_t>(it->get<int64_t>(), -1000000, 1000000));
    return 0;
}

// Ids are kept only when they are what OTLP says (hex of the right length), lower case.
std::string hex_norm(std::string s, size_t len) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return is_hex_id(s, len) && s != std::string(len, '0') ? s : std::string();
}

std::string hex_id(const json &o, const char *key, size_t len) { return hex_norm(str(o, key), len); }

const json &array_at(const json &o, const char *key) {
    static const json empty = json::array();
    auto it = o.is_object() ? o.find(key) : o.end();
    return it != o.end() && it->is_array() ? *it : empty;
}

Resource resource_of(const json &rs) {
    Resource r;
    auto it = rs.find("resource");
    if (it == rs.end() || !it->is_object()) return r;
    for (auto &a : array_at(*it, "attributes")) {
        if (!a.is_object()) continue;
        std::string k = str(a, "key");
        auto v = a.find("value");
        std::string val = v == a.end() ? "" : cut(any_text(*v));
        if (k == "service.instance.id") r.install_id = val;
        else if (k == "session.id") r.session_id = val;
        else if (k == "service.name") r.app = val;
        else if (k == "service.version") r.app_version = val;
        else if (k == "os.description") r.os = val;
    }
    return r;
}

// The fast path for log batches: SAX events straight into rows, no DOM. Building the DOM
// was most of the backend's CPU per batch (tests/bench/bench_backend.cpp, BM_backend_phases).
// It takes only the shape it knows exactly: what telltale sends, and what OTLP SDKs send
// (objects where OTLP has objects, AnyValues holding one stringValue, intValue or boolValue,
// each field once). Anything else (a repeated key, a value of another type, arrays or maps
// as values, ...) makes it give up, and parse_otlp starts over with the DOM below; so the
// rows never depend on which path made them.
class LogsSax {
public:
    explicit LogsSax(Batch &out) : out_(out) {}
    bool complete() const { return seen_top_ && frames_.empty(); }

    bool null() { return value(V::kOther); }
    bool boolean(bool b) {
        bool_ = b;
        return value(V::kBool);
    }
    bool number_integer(json::number_integer_t v) {
        int_ = v;
        return value(V::kInt);
    }
    bool number_unsigned(json::number_unsigned_t v) {
        if (v > static_cast<json::number_unsigned_t>(INT64_MAX)) return value(V::kOther);
        int_ = static_cast<int64_t>(v);
        return value(V::kInt);
    }
    bool number_float(json::number_float_t, const json::string_t &) { return value(V::kOther); }
    bool string(json::string_t &s) {
        str_ = &s;
        return value(V::kString);
    }
    bool binary(json::binary_t &) { return value(V::kOther); }
    template <class E>
    bool parse_error(std::size_t, const std::string &, const E &) {
        return false;
    }

    bool start_object(std::size_t) {
        if (skip_) return ++skip_, true;
        if (frames_.empty()) {
            if (started_) return false;
            started_ = true;
            return push(F::kTop);
        }
        switch (frames_.back().f) {
            case F::kResArr:
                out_.resources.emplace_back();
                res_ = out_.resources.size() - 1;
                return push(F::kResObj);
            case F::kAttrArr:
                attr_key_.clear();
                attr_val_.clear();
                return push(F::kAttr);
            case F::kScopeArr: return push(F::kScopeObj);
            case F::kRecArr:
                rec_ = LogRow();
                rec_.resource = res_;
                rec_time_ = rec_observed_ = 0;
                rec_trace_.clear();
                rec_span_.clear();
                rec_attrs_ = json::object();
                return push(F::kRec);
            default: break;
        }
        Fld f = take();
        if (f == Fld::kSkip) return skip_ = 1, true;
        if (f == Fld::kResource) return push(F::kResource);
        if (f == Fld::kAttrValue || f == Fld::kBody) {
            any_.clear();
            return push(F::kAny);
        }
        return false;
    }

    bool start_array(std::size_t) {
        if (skip_) return ++skip_, true;
        if (frames_.empty() || is_array(frames_.back().f)) return false;
        switch (take()) {
            case Fld::kSkip: return skip_ = 1, true;
            case Fld::kTopArr: return push(F::kResArr);
            case Fld::kScopeLogs: return push(F::kScopeArr);
            case Fld::kResAttrs:
            case Fld::kRecAttrs: return push(F::kAttrArr);
            case Fld::kLogRecords: return push(F::kRecArr);
            default: return false;
        }
    }

    bool end_array() {
        if (skip_) return --skip_, true;
        frames_.pop_back();
        return true;
    }

    bool key(json::string_t &k) {
        if (skip_) return true;
        Frame &fr = frames_.back();
        Fld f = Fld::kSkip;
        switch (fr.f) {
            case F::kTop:
                if (k == "resourceLogs") f = Fld::kTopArr;
                break;
            case F::kResObj:
                if (k == "resource") f = Fld::kResource;
                else if (k == "scopeLogs") f = Fld::kScopeLogs;
                break;
            case F::kResource:
                if (k == "attributes") f = Fld::kResAttrs;
                break;
            case F::kAttr:
                if (k == "key") f = Fld::kAttrKey;
                else if (k == "value") f = Fld::kAttrValue;
                break;
            case F::kAny:
                // One of these and nothing else: any_text's order of preference never matters.
                if (fr.seen) return false;
                if (k == "stringValue") f = Fld::kStringValue;
                else if (k == "intValue") f = Fld::kIntValue;
                else if (k == "boolValue") f = Fld::kBoolValue;
                else return false;
                break;
            case F::kScopeObj:
                if (k == "logRecords") f = Fld::kLogRecords;
                break;
            case F::kRec:
                if (k == "timeUnixNano") f = Fld::kTime;
                else if (k == "observedTimeUnixNano") f = Fld::kObserved;
                else if (k == "severityNumber") f = Fld::kSeverity;
                else if (k == "body") f = Fld::kBody;
                else if (k == "traceId") f = Fld::kTraceId;
                else if (k == "spanId") f = Fld::kSpanId;
                else if (k == "attributes") f = Fld::kRecAttrs;
                break;
            default: return false;
        }
        if (f != Fld::kSkip) {
            uint32_t bit = 1u << static_cast<unsigned>(f);
            if (fr.seen & bit) return false;  // a repeated key: the DOM keeps the last one
            fr.seen |= bit;
        }
        pending_ = f;
        return true;
    }

    bool end_object() {
        if (skip_) return --skip_, true;
        Frame fr = frames_.back();
        frames_.pop_back();
        switch (fr.f) {
            case F::kTop: break;
            case F::kAttr: {
                if (!(fr.seen & bit(Fld::kAttrKey)) || !(fr.seen & bit(Fld::kAttrValue))) return false;
                // frames_: ... <resource or record>, kAttrArr
                if (frames_.size() < 2) return false;
                if (frames_[frames_.size() - 2].f == F::kResource) {
                    Resource &r = out_.resources[res_];
                    if (attr_key_ == "service.instance.id") r.install_id = attr_val_;
                    else if (attr_key_ == "session.id") r.session_id = attr_val_;
                    else if (attr_key_ == "service.name") r.app = attr_val_;
                    else if (attr_key_ == "service.version") r.app_version = attr_val_;
                    else if (attr_key_ == "os.description") r.os = attr_val_;
                } else {
                    rec_attrs_[attr_key_] = attr_val_;
                }
                break;
            }
            case F::kAny: {
                if (!fr.seen || frames_.empty()) return false;
                if (frames_.back().f == F::kAttr) attr_val_ = cut(std::move(any_));
                else rec_.message = cut(std::move(any_));
                break;
            }
            case F::kRec: {
                rec_.time_ns = rec_time_ ? rec_time_ : rec_observed_;
                rec_.trace_id = hex_norm(std::move(rec_trace_), 32);
                rec_.span_id = hex_norm(std::move(rec_span_), 16);
                rec_.attrs = rec_attrs_.dump(-1, ' ', false, json::error_handler_t::replace);
                out_.logs.push_back(std::move(rec_));
                break;
            }
            default: break;
        }
        if (fr.f == F::kTop) seen_top_ = (fr.seen & bit(Fld::kTopArr)) != 0;
        return true;
    }

private:
    enum class F : uint8_t { kTop, kResArr, kResObj, kResource, kAttrArr, kAttr, kAny, kScopeArr, kScopeObj, kRecArr, kRec };
    enum class Fld : uint8_t {
        kNone, kSkip, kTopArr, kResource, kScopeLogs, kResAttrs, kAttrKey, kAttrValue, kStringValue, kIntValue, kBoolValue,
        kLogRecords, kTime, kObserved, kSeverity, kBody, kTraceId, kSpanId, kRecAttrs
    };
    enum class V : uint8_t { kString, kInt, kBool, kOther };
    struct Frame {
        F f;
        uint32_t seen = 0;
    };

    static uint32_t bit(Fld f) { return 1u << static_cast<unsigned>(f); }
    static bool is_array(F f) { return f == F::kResArr || f == F::kAttrArr || f == F::kScopeArr || f == F::kRecArr; }
    bool push(F f) {
        frames_.push_back({f, 0});
        return true;
    }
    Fld take() {
        Fld f = pending_;
        pending_ = Fld::kNone;
        return f;
    }

    // A scalar: an array element (never expected) or the value of the key just read.
    bool value(V v) {
        if (skip_) return true;
        if (frames_.empty() || is_array(frames_.back().f)) return false;
        const Fld f = take();
        switch (f) {
            case Fld::kSkip: return true;
            case Fld::kAttrKey:
                if (v != V::kString) return false;
                attr_key_ = cut(*str_);
                return true;
            case Fld::kStringValue:
                if (v != V::kString) return false;
                any_ = *str_;
                return true;
            case Fld::kIntValue:
                if (v == V::kString) any_ = *str_;
                else if (v == V::kInt) any_ = std::to_string(int_);
                else return false;
                return true;
            case Fld::kBoolValue:
                if (v != V::kBool) return false;
                any_ = bool_ ? "true" : "false";
                return true;
            case Fld::kTime:
            case Fld::kObserved: {
                int64_t t;
                if (v == V::kString) t = nanos_text(*str_);
                else if (v == V::kInt) t = int_;
                else return false;
                (f == Fld::kTime ? rec_time_ : rec_observed_) = t;
                return true;
            }
            case Fld::kSeverity:
                if (v != V::kInt) return false;
                rec_.severity = std::clamp(static_cast<int>(std::clamp<int64_t>(int_, -1000000, 1000000)), 0, 24);
                return true;
            case Fld::kTraceId:
            case Fld::kSpanId:
                if (v != V::kString) return false;
                (f == Fld::kTraceId ? rec_trace_ : rec_span_) = cut(*str_);
                return true;
            default: return false;  // a scalar where OTLP has an object or an array
        }
    }

    Batch &out_;
    std::vector<Frame> frames_;
    Fld pending_ = Fld::kNone;
    size_t skip_ = 0;  // depth inside a value we do not read
    bool started_ = false, seen_top_ = false;
    const json::string_t *str_ = nullptr;
    int64_t int_ = 0;
    bool bool_ = false;
    size_t res_ = 0;
    std::string attr_key_, attr_val_, any_;
    LogRow rec_;
    int64_t rec_time_ = 0, rec_observed_ = 0;
    std::string rec_trace_, rec_span_;
    json rec_attrs_;
};

std::optional<std::string> parse_otlp_dom(std::string_view body, bool traces, Batch &out) {
    json doc = json::parse(body.begin(), body.end(), nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) return std::string("the body is not a JSON object");
    const char *top = traces ? "resourceSpans" : "resourceLogs";
    const char *scopes = traces ? "scopeSpans" : "scopeLogs";
    const char *records = traces ? "spans" : "logRecords";
    if (!doc.contains(top)) return std::string("no ") + top + " in the body";
    for (auto &rs : array_at(doc, top)) {
        if (!rs.is_object()) continue;
        out.resources.push_back(resource_of(rs));
        size_t ri = out.resources.size() - 1;
        for (auto &ss : array_at(rs, scopes)) {
            for (auto &rec : array_at(ss, records)) {
                if (!rec.is_object()) continue;
                json attrs = json::object();
                if (!traces) {
                    LogRow l;
                    l.resource = ri;
                    l.time_ns = nanos(rec, "timeUnixNano");
                    if (!l.time_ns) l.time_ns = nanos(rec, "observedTimeUnixNano");
                    l.severity = std::clamp(integer(rec, "severityNumber"), 0, 24);
                    if (auto b = rec.find("body"); b != rec.end()) l.message = cut(any_text(*b));
                    l.trace_id = hex_id(rec, "traceId", 32);
                    l.span_id = hex_id(rec, "spanId", 16);
                    for (auto &a : array_at(rec, "attributes"))
                        if (a.is_object() && a.contains("value")) attrs[str(a, "key")] = cut(any_text(a["value"]));
                    l.attrs = attrs.dump(-1, ' ', false, json::error_handler_t::replace);
                    out.logs.push_back(std::move(l));
                } else {
                    SpanRow s;
                    s.resource = ri;
                    s.trace_id = hex_id(rec, "traceId", 32);
                    s.span_id = hex_id(rec, "spanId", 16);
                    s.parent_span_id = hex_id(rec, "parentSpanId", 16);
                    s.name = str(rec, "name");
                    s.kind = integer(rec, "kind");
                    s.start_ns = nanos(rec, "startTimeUnixNano");
                    s.end_ns = nanos(rec, "endTimeUnixNano");
                    if (auto st = rec.find("status"); st != rec.end() && st->is_object()) {
                        s.status_code = integer(*st, "code");
                        s.status_message = str(*st, "message");
                    }
                    for (auto &a : array_at(rec, "attributes")) {
                        if (!a.is_object() || !a.contains("value")) continue;
                        std::string k = str(a, "key"), v = cut(any_text(a["value"]));
                        if (k == "http.request.method") s.method = v;
                        else if (k == "url.path") s.path = v;
                        else if (k == "server.address") s.host = v;
                        else if (k == "error.type") s.error_type = v;
                        else if (k == "http.response.status_code") s.http_status = static_cast<int>(std::strtol(v.c_str(), nullptr, 10));
                        else if (k.rfind("telltale.server_id.", 0) == 0 && !v.empty()) s.server_ids.emplace_back(k.substr(19), v);
                        attrs[k] = v;
                    }
                    s.attrs = attrs.dump(-1, ' ', false, json::error_handler_t::replace);
                    if (s.trace_id.empty() || s.span_id.empty()) continue;  // cannot be looked up or deduplicated
                    out.spans.push_back(std::move(s));
                }
            }
        }
    }
    return std::nullopt;
}

}  // namespace

std::optional<std::string> parse_otlp(std::string_view body, bool traces, Batch &out) {
    if (!traces) {
        const size_t resources = out.resources.size(), logs = out.logs.size();
        LogsSax sax(out);
        if (json::sax_parse(body.begin(), body.end(), &sax) && sax.complete()) return std::nullopt;
        // Not the shape the fast path reads (or not JSON at all): the DOM decides, from scratch.
        out.resources.resize(resources);
        out.logs.resize(logs);
    }
    return parse_otlp_dom(body, traces, out);
}

// ---------------------------------------------------------------- multipart

std::string multipart_boundary(std::string_view ct) {
    size_t at = 0;
    // Case-insensitive search for "boundary=".
    std::string lower(ct);
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (lower.rfind("multipart/form-data", 0) != 0) return "";
    at = lower.find("boundary=");
    if (at == std::string::npos) return "";
    std::string_view b = ct.substr(at + 9);
    if (!b.empty() && b.front() == '"') {
        b.remove_prefix(1);
        size_t q = b.find('"');
        if (q == std::string_view::npos) return "";
        b = b.substr(0, q);
    } else {
        b = b.substr(0, b.find_first_of("; \t"));
    }
    if (b.empty() || b.size() > 70) return "";  // RFC 2046: 1..70 characters
    return std::string(b);
}

namespace {
// The value of a parameter (name="x") in a Content-Disposition header.
std::string disposition_param(std::string_view h, std::string_view key) {
    std::string pat = std::string(key) + "=\"";
    size_t at = 0;
    while ((at = h.find(pat, at)) != std::string_view::npos) {
        if (at == 0 || h[at - 1] == ' ' || h[at - 1] == ';') {
            size_t from = at + pat.size(), end = h.find('"', from);
            if (end == std::string_view::npos) return "";
            return std::string(h.substr(from, end - from));
        }
        at += pat.size();
    }
    return "";
}
}  // namespace

std::optional<std::string> parse_multipart(std::string_view body, std::string_view boundary, std::vector<Part> &out) {
    if (boundary.empty()) return std::string("no multipart boundary");
    const std::string delim = "--" + std::string(boundary);
    size_t at = body.find(delim);
    if (at == std::string_view::npos) return std::string("the multipart body has no boundary line");
    at += delim.size();
    const std::string next = "\r\n" + delim;
    for (;;) {
        if (body.substr(at, 2) == "--") return std::nullopt;  // the closing delimiter
        // Skip transport padding, then the line break after the delimiter.
        while (at < body.size() && (body[at] == ' ' || body[at] == '\t')) ++at;
        if (body.substr(at, 2) != "\r\n") return std::string("malformed multipart delimiter line");
        at += 2;
        size_t hend = body.find("\r\n\r\n", at);
        if (hend == std::string_view::npos) return std::string("a multipart part has no end of headers");
        Part p;
        std::string_view headers = body.substr(at, hend + 2 - at);
        for (size_t ls = 0; ls < headers.size();) {
            size_t le = headers.find("\r\n", ls);
            std::string_view line = headers.substr(ls, le - ls);
            ls = le + 2;
            size_t colon = line.find(':');
            if (colon == std::string_view::npos) continue;
            std::string name(line.substr(0, colon));
            std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
            std::string_view value = line.substr(colon + 1);
            while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
            if (name == "content-disposition") {
                p.name = disposition_param(value, "name");
                p.filename = disposition_param(value, "filename");
            } else if (name == "content-type") {
                p.content_type = std::string(value);
            }
        }
        size_t dstart = hend + 4, dend = body.find(next, dstart);
        if (dend == std::string_view::npos) return std::string("a multipart part is not closed by the boundary");
        p.data = std::string(body.substr(dstart, dend - dstart));
        out.push_back(std::move(p));
        if (out.size() > 256) return std::string("too many multipart parts");
        at = dend + next.size();
    }
}

// ---------------------------------------------------------------- helpers

bool is_hex_id(std::string_view s, size_t len) {
    return s.size() == len && std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string fingerprint(std::string_view m) {
    std::string out;
    out.reserve(std::min<size_t>(m.size(), 512));
    auto hexc = [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; };
    for (size_t i = 0; i < m.size() && out.size() < 512;) {
        char c = m[i];
        // A UUID (8-4-4-4-12 hex) first, so its parts are not read as numbers.
        if (i + 36 <= m.size() && hexc(c)) {
            std::string_view u = m.substr(i, 36);
            bool uuid = true;
            for (size_t k = 0; k < 36 && uuid; ++k)
                uuid = (k == 8 || k == 13 || k == 18 || k == 23) ? u[k] == '-' : hexc(u[k]);
            if (uuid) {
                out += "<uuid>";
                i += 36;
                continue;
            }
        }
        if (c == '0' && i + 1 < m.size() && (m[i + 1] == 'x' || m[i + 1] == 'X')) {
            size_t j = i + 2;
            while (j < m.size() && hexc(m[j])) ++j;
            out += "<hex>";
            i = j;
            continue;
        }
        if (hexc(c) && (i == 0 || !std::isalnum(static_cast<unsigned char>(m[i - 1])))) {
            // A word made of hex digits with at least one digit and 6+ characters: an id.
            size_t j = i;
            bool digit = false;
            while (j < m.size() && hexc(m[j])) digit |= std::isdigit(static_cast<unsigned char>(m[j])) != 0, ++j;
            if (j - i >= 6 && digit && (j == m.size() || !std::isalnum(static_cast<unsigned char>(m[j])))) {
                out += "<hex>";
                i = j;
                continue;
            }
        }
        if (std::isdigit(static_cast<unsigned char>(c))) {
            size_t j = i;
            while (j < m.size() && (std::isdigit(static_cast<unsigned char>(m[j])) || m[j] == '.')) ++j;
            out += "<n>";
            i = j;
            continue;
        }
        out += c;
        ++i;
    }
    return out;
}

std::string rfc3339(int64_t ns) {
    time_t s = static_cast<time_t>(ns / 1'000'000'000);
    struct tm tm{};
    gmtime_r(&s, &tm);
    char buf[64];
    size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, sizeof buf - n, ".%06dZ", static_cast<int>((ns % 1'000'000'000) / 1000));
    return buf;
}

int64_t parse_rfc3339(std::string_view s) {
    struct tm tm{};
    std::string z(s.substr(0, 64));
    const char *rest = strptime(z.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
    if (!rest) return 0;
    int64_t ns = static_cast<int64_t>(timegm(&tm)) * 1'000'000'000;
    if (*rest == '.') {
        int64_t frac = 0, scale = 100'000'000;
        for (++rest; *rest >= '0' && *rest <= '9'; ++rest, scale /= 10)
            if (scale) frac += (*rest - '0') * scale;
        ns += frac;
    }
    return ns;
}

}  // namespace tsb
