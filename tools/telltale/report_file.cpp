#include "report_file.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <memory>

#include <fmt/format.h>

#include "cli.hpp"
#include "core/text.hpp"

namespace ttcli::reportfile {
namespace {

constexpr size_t kBlock = 512;
constexpr const char kLogsPart[] = "logs.ndjson.zst";
constexpr const char kManifestPart[] = "manifest.json";
constexpr size_t kMaxArray = 100000;    // elements read from one manifest array
constexpr size_t kMaxWarnings = 20;     // more are counted, not listed
constexpr uint64_t kMaxLongName = 4096;  // a GNU long name or a pax path
constexpr uint64_t kMaxPax = 1u << 20;

constexpr const char kHintNotReport[] =
    "pass the .tar file tt_report_export wrote (the report the app saved for the user); `tar -tvf FILE` lists what a tar holds";
constexpr const char kHintDamaged[] =
    "the file was cut short or changed on its way: ask for it again, or for a fresh export; `tar -tvf FILE` lists what is intact";

[[noreturn]] void not_report(std::string reason, std::string hint = kHintNotReport) {
    throw ReportError{ReportError::kNotReport, std::move(reason), std::move(hint)};
}
[[noreturn]] void damaged(std::string reason, std::string hint = kHintDamaged) {
    throw ReportError{ReportError::kDamaged, std::move(reason), std::move(hint)};
}

// A name or other bytes from the file, fit to quote in a message: valid UTF-8, one line, not endless.
std::string quoted(std::string_view s, size_t max = 80) {
    std::string p = printable(s.substr(0, tt::text::utf8_cut(s, max)));
    return fmt::format("\"{}{}\"", p, s.size() > max ? "..." : "");
}

// --------------------------------------------------------------------------------- tar

bool all_zero(const char *b, size_t n) {
    for (size_t i = 0; i < n; ++i)
        if (b[i]) return false;
    return true;
}

// An octal header field: optional leading spaces, digits, then only NULs or spaces.
std::optional<uint64_t> octal(const char *f, size_t n) {
    size_t i = 0;
    while (i < n && f[i] == ' ') ++i;
    size_t start = i;
    uint64_t v = 0;
    for (; i < n && f[i] >= '0' && f[i] <= '7'; ++i) {
        if (v >> 60) return std::nullopt;
        v = v * 8 + static_cast<uint64_t>(f[i] - '0');
    }
    if (i == start) return std::nullopt;
    for (; i < n; ++i)
        if (f[i] != ' ' && f[i] != '\0') return std::nullopt;
    return v;
}

// The header's checksum: its bytes summed with the checksum field as spaces (some old tars summed signed chars).
bool checksum_ok(const char *h) {
    auto stored = octal(h + 148, 8);
    if (!stored) return false;
    uint64_t u = 0;
    int64_t s = 0;
    for (size_t i = 0; i < kBlock; ++i) {
        char c = i >= 148 && i < 156 ? ' ' : h[i];
        u += static_cast<unsigned char>(c);
        s += static_cast<signed char>(c);
    }
    return *stored == u || static_cast<int64_t>(*stored) == s;
}

std::string field(const char *f, size_t n) { return std::string(f, strnlen(f, n)); }

// What a file that is not a tar archive is instead, when it says so in its first bytes.
std::string not_tar_reason(const char *b, size_t n) {
    auto starts = [&](std::string_view magic) { return n >= magic.size() && std::memcmp(b, magic.data(), magic.size()) == 0; };
    if (starts("\x28\xB5\x2F\xFD"))
        return "it is zstd-compressed data, not a tar archive (a logs.ndjson.zst on its own? the report is the whole .tar)";
    if (starts("\x1F\x8B")) return "it is gzip-compressed, not a plain tar archive (decompress it first, e.g. gunzip, and pass the .tar)";
    if (starts("PK\x03\x04")) return "it is a zip archive; a telltale report is a plain tar";
    if (starts(std::string_view("SQLite format 3\0", 16)))
        return "it is an SQLite database (a telltale buffer? `telltale dump` and `telltale stats` read those)";
    size_t i = 0;
    while (i < n && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n')) ++i;
    if (i < n && (b[i] == '{' || b[i] == '['))
        return "it is JSON text, not a tar archive (a manifest.json on its own? the report is the whole .tar)";
    if (n < kBlock) return fmt::format("it is not a tar archive (only {} bytes; a tar header alone is 512)", n);
    return "it is not a tar archive (no ustar header at its start)";
}

// The path record of a pax extended header ("LEN path=VALUE\n" records), if any.
std::optional<std::string> pax_path(std::string_view p) {
    std::optional<std::string> path;
    while (!p.empty()) {
        size_t i = 0, len = 0;
        while (i < p.size() && i < 8 && p[i] >= '0' && p[i] <= '9') len = len * 10 + static_cast<size_t>(p[i++] - '0');
        if (i == 0 || i >= p.size() || p[i] != ' ' || len <= i + 1 || len > p.size() || p[len - 1] != '\n') break;
        std::string_view rec = p.substr(i + 1, len - i - 2);  // KEY=VALUE
        if (size_t eq = rec.find('='); eq != std::string_view::npos && rec.substr(0, eq) == "path" && eq + 1 < rec.size() &&
                                       rec.size() - eq - 1 <= kMaxLongName)
            path = std::string(rec.substr(eq + 1));
        p.remove_prefix(len);
    }
    return path;
}

std::string normalize(std::string name) {
    while (name.rfind("./", 0) == 0) name.erase(0, 2);
    return name;
}

// --------------------------------------------------------------------------------- JSON

// SQLite's JSON1 on an in-memory database: one json_each per object, one parse each.
class Json {
public:
    Json() {
        if (sqlite3_open_v2(":memory:", &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK) {
            sqlite3_close(db_);
            throw ReportError{ReportError::kIo, "SQLite could not open an in-memory database (out of memory?)", "free some memory and retry"};
        }
        if (sqlite3_prepare_v2(db_, "SELECT key, type, atom, value FROM json_each(?1)", -1, &each_, nullptr) != SQLITE_OK) {
            std::string why = sqlite3_errmsg(db_);
            sqlite3_close(db_);
            throw ReportError{ReportError::kIo, fmt::format("this SQLite ({}) has no JSON functions: {}", sqlite3_libversion(), why),
                              "use a telltale CLI built against SQLite 3.38 or later (JSON1 built in)"};
        }
    }
    ~Json() {
        sqlite3_finalize(each_);
        sqlite3_close(db_);
    }
    Json(const Json &) = delete;
    Json &operator=(const Json &) = delete;

    // The members of an object (key: the name) or the elements of an array (key: the index), in order.
    // `json` must already be known valid (checked strictly by the caller).
    std::vector<std::pair<std::string, Value>> members(std::string_view json, const char *what, size_t max = SIZE_MAX) {
        std::vector<std::pair<std::string, Value>> out;
        sqlite3_reset(each_);
        sqlite3_bind_text64(each_, 1, json.data(), json.size(), SQLITE_STATIC, SQLITE_UTF8);
        int rc;
        while ((rc = sqlite3_step(each_)) == SQLITE_ROW) {
            if (out.size() >= max) break;
            Value v;
            std::string_view type = col(1);
            if (type == "null") v.type = Value::kNull;
            else if (type == "true") v.type = Value::kTrue;
            else if (type == "false") v.type = Value::kFalse;
            else if (type == "integer") v.type = Value::kInteger;
            else if (type == "real") v.type = Value::kReal;
            else if (type == "text") v.type = Value::kText;
            else if (type == "array") v.type = Value::kArray;
            else if (type == "object") v.type = Value::kObject;
            else continue;
            if (v.type == Value::kObject || v.type == Value::kArray) v.text = col(3);
            else v.text = col(2);
            if (v.type == Value::kInteger) {
                // Beyond int64 SQLite hands back a real: keep it as a number, not a wrong integer.
                if (sqlite3_column_type(each_, 2) == SQLITE_INTEGER) v.integer = sqlite3_column_int64(each_, 2);
                else v.type = Value::kReal;
            }
            if (v.type == Value::kReal) v.real = sqlite3_column_double(each_, 2);
            out.emplace_back(std::string(col(0)), std::move(v));
        }
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
            std::string why = sqlite3_errmsg(db_);
            sqlite3_reset(each_);
            damaged(fmt::format("SQLite could not read {} ({})", what, why));
        }
        sqlite3_reset(each_);
        sqlite3_clear_bindings(each_);
        return out;
    }

private:
    sqlite3 *db_ = nullptr;
    sqlite3_stmt *each_ = nullptr;

    std::string_view col(int i) {
        auto p = reinterpret_cast<const char *>(sqlite3_column_text(each_, i));
        return p ? std::string_view(p, static_cast<size_t>(sqlite3_column_bytes(each_, i))) : std::string_view();
    }
};

using Obj = std::vector<std::pair<std::string, Value>>;

const Value &get(const Obj &o, std::string_view key) {
    static const Value missing;
    for (auto it = o.rbegin(); it != o.rend(); ++it)  // a repeated key: the last one counts, as in most parsers
        if (it->first == key) return it->second;
    return missing;
}

// Picks typed fields out of objects; a known field of another type is noted and ignored.
class Fields {
public:
    Fields(Json &j, std::vector<std::string> &odd) : j_(j), odd_(odd) {}

    Obj object(const Obj &o, std::string_view key, const std::string &where) { return members(get(o, key), where); }
    Obj array(const Obj &o, std::string_view key, const std::string &where) {
        const Value &v = get(o, key);
        if (v.type != Value::kArray) {
            note(v, where, "an array");
            return {};
        }
        Obj a = j_.members(v.text, "the manifest", kMaxArray + 1);
        if (a.size() > kMaxArray) {
            a.resize(kMaxArray);
            add_odd(fmt::format("{} (over {} entries: the rest not shown)", where, kMaxArray));
        }
        return a;
    }
    // An array element that should be an object: false (and noted) if it is not, so that it is skipped.
    bool is_object(const Value &v, const std::string &where) {
        if (v.type == Value::kObject) return true;
        if (v.type != Value::kNull) add_odd(fmt::format("{} ({} where an object belongs)", where, v.type_name()));
        return false;
    }
    Obj members(const Value &v, const std::string &where) {
        if (v.type == Value::kObject) return j_.members(v.text, "the manifest");
        note(v, where, "an object");
        return {};
    }
    std::optional<std::string> text(const Obj &o, std::string_view key, const std::string &where) {
        const Value &v = get(o, key);
        if (v.type != Value::kText) note(v, where, "text");
        return v.str();
    }
    std::optional<int64_t> integer(const Obj &o, std::string_view key, const std::string &where) {
        const Value &v = get(o, key);
        if (v.type != Value::kInteger) note(v, where, "a whole number");
        return v.int64();
    }
    std::optional<double> number(const Obj &o, std::string_view key, const std::string &where) {
        const Value &v = get(o, key);
        if (!v.number()) note(v, where, "a number");
        return v.number();
    }
    std::optional<bool> boolean(const Obj &o, std::string_view key, const std::string &where) {
        const Value &v = get(o, key);
        if (!v.boolean()) note(v, where, "true or false");
        return v.boolean();
    }
    void add_odd(std::string s) {
        if (odd_.size() < kMaxWarnings) odd_.push_back(std::move(s));
    }

private:
    Json &j_;
    std::vector<std::string> &odd_;

    // A known field of another type (null counts as absent).
    void note(const Value &v, const std::string &where, const char *want) {
        if (v.present()) add_odd(fmt::format("{} ({} where {} belongs)", where, v.type_name(), want));
    }
};

std::string at(const std::string &array, size_t i) { return fmt::format("{}[{}]", array, i); }

// Digits only, at most int64: a time_unix_nano written as a string.
std::optional<int64_t> digits_int64(std::string_view s) {
    if (s.empty() || s.size() > 19) return std::nullopt;
    __int128 v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + (c - '0');
    }
    if (v > INT64_MAX) return std::nullopt;
    return static_cast<int64_t>(v);
}

}  // namespace

// --------------------------------------------------------------------------- sources

std::string describe(const ReportError &e, std::string_view file) {
    std::string f = printable(file);
    switch (e.kind) {
    case ReportError::kNotReport: return fmt::format("{} is not a telltale report: {}", f, e.reason);
    case ReportError::kDamaged: return fmt::format("{} is damaged: {}", f, e.reason);
    case ReportError::kTooBig: return fmt::format("{} is too big to show: {}", f, e.reason);
    case ReportError::kIo: break;
    }
    return fmt::format("cannot read {}: {}", f, e.reason);
}

void MemorySource::read(uint64_t offset, size_t n, char *out) const {
    if (offset > bytes_.size() || n > bytes_.size() - offset) damaged("a read past its end");  // callers check; never trust that
    std::memcpy(out, bytes_.data() + offset, n);
}

FileSource::FileSource(const std::string &path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw ReportError{ReportError::kIo, std::strerror(errno), "check the path and that you may read the file"};
    struct stat st;
    if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd_);
        throw ReportError{ReportError::kIo, "it is not a regular file", "pass the .tar file tt_report_export wrote"};
    }
    size_ = static_cast<uint64_t>(st.st_size);
}

FileSource::~FileSource() {
    if (fd_ >= 0) ::close(fd_);
}

void FileSource::read(uint64_t offset, size_t n, char *out) const {
    while (n > 0) {
        ssize_t got = ::pread(fd_, out, n, static_cast<off_t>(offset));
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) throw ReportError{ReportError::kIo, std::strerror(errno), "check the disk and retry"};
        if (got == 0)
            damaged(fmt::format("it became shorter while being read (now {} bytes)", offset),
                    "wait until whatever writes the file is done, then run this again");
        out += got;
        offset += static_cast<uint64_t>(got);
        n -= static_cast<size_t>(got);
    }
}

// ------------------------------------------------------------------------------ tar

const TarEntry *Tar::find(std::string_view name) const {
    for (auto it = files.rbegin(); it != files.rend(); ++it)
        if (it->name == name) return &*it;
    return nullptr;
}

Tar read_tar(const Source &src, const Limits &lim) {
    Tar t;
    const uint64_t size = src.size();
    uint64_t off = 0;
    size_t headers = 0;
    std::optional<std::string> long_name;  // from a GNU 'L' or pax 'x' entry, for the next one
    std::string last = "(none)";           // the last entry's name, for messages
    char h[kBlock];
    while (off < size) {
        size_t n = static_cast<size_t>(std::min<uint64_t>(kBlock, size - off));
        src.read(off, n, h);
        if (all_zero(h, n)) {
            t.end_marker = n == kBlock;  // a cut-short end marker still ends the archive
            break;
        }
        if (n < kBlock) {
            if (headers == 0 && (n < 262 || std::memcmp(h + 257, "ustar", 5) != 0)) not_report(not_tar_reason(h, n));
            if (headers == 0) damaged(fmt::format("it is cut short: the file ends {} bytes into its first tar header", n));
            damaged(fmt::format("it is cut short: the file ends {} bytes into the tar header at byte {} (after the entry {})", n, off,
                                quoted(last)));
        }
        bool magic = std::memcmp(h + 257, "ustar", 5) == 0;
        if (!magic || !checksum_ok(h)) {
            if (headers == 0) {
                if (magic) damaged("its first tar header fails its checksum");
                not_report(not_tar_reason(h, n));
            }
            damaged(fmt::format("there is no valid tar header at byte {} (after the entry {}): {}", off, quoted(last),
                                magic ? "the header fails its checksum" : "the bytes there are not a header"));
        }
        if (++headers > lim.max_entries)
            not_report(fmt::format("the tar archive has more than {} entries; a report holds a manifest, its logs and a few attachments",
                                   lim.max_entries));
        std::string name = field(h, 100);
        // POSIX ustar ("ustar\0") keeps a path prefix; GNU tar ("ustar  ") uses those bytes for other things.
        if (h[262] == '\0') {
            std::string prefix = field(h + 345, 155);
            if (!prefix.empty()) name = prefix + "/" + name;
        }
        if (long_name) {
            name = std::move(*long_name);
            long_name.reset();
        }
        name = normalize(std::move(name));
        if (static_cast<unsigned char>(h[124]) & 0x80)
            damaged(fmt::format("the entry {} at byte {} has a base-256 size: over 8 GiB, which no report is", quoted(name), off));
        auto sz = octal(h + 124, 12);
        if (!sz) damaged(fmt::format("the size of the entry {} (tar header at byte {}) is not an octal number", quoted(name), off));
        const uint64_t data = off + kBlock;
        if (*sz > size - data)
            damaged(fmt::format("it is cut short: the entry {} needs {} bytes from byte {}, but the file ends at byte {}", quoted(name), *sz,
                                data, size));
        char type = h[156];
        if (type == '0' || type == '\0' || type == '7') {
            t.files.push_back(TarEntry{name, data, *sz});
        } else if (type == 'L' || type == 'x') {
            uint64_t cap = type == 'L' ? kMaxLongName : kMaxPax;
            if (*sz <= cap) {
                std::string buf(static_cast<size_t>(*sz), '\0');
                src.read(data, buf.size(), buf.data());
                if (type == 'L') long_name = std::string(buf.c_str());
                else long_name = pax_path(buf);
            }
        }  // directories, links, devices, global pax headers: nothing to show
        last = name;
        uint64_t padded = *sz + (kBlock - *sz % kBlock) % kBlock;
        off = padded > size - data ? size : data + padded;  // a file that ends inside the padding: nothing more to read
    }
    if (headers == 0) not_report(size == 0 ? "the file is empty" : "it is an empty tar archive (no entries)");
    return t;
}

// ----------------------------------------------------------------------------- values

std::optional<double> Value::number() const {
    if (type == kInteger) return static_cast<double>(integer);
    if (type == kReal) return real;
    return std::nullopt;
}

std::optional<bool> Value::boolean() const {
    if (type == kTrue) return true;
    if (type == kFalse) return false;
    return std::nullopt;
}

const char *Value::type_name() const {
    switch (type) {
    case kMissing: return "missing";
    case kNull: return "null";
    case kText: return "text";
    case kInteger:
    case kReal: return "a number";
    case kTrue:
    case kFalse: return "a boolean";
    case kObject: return "an object";
    case kArray: return "an array";
    }
    return "?";
}

bool Request::failed() const {
    if (cls) return *cls != "ok";
    if (!http()) return error && !error->empty();
    return !status || *status == 0 || *status >= 400 || (error && !error->empty());
}

// --------------------------------------------------------------------------- manifest

Manifest parse_manifest(std::string_view json) {
    if (!tt::text::utf8_valid(json))
        damaged("its manifest.json is not valid UTF-8 (telltale writes UTF-8 only)");
    if (!json_is_object(json)) {
        size_t i = 0;
        while (i < json.size() && (json[i] == ' ' || json[i] == '\t' || json[i] == '\r' || json[i] == '\n')) ++i;
        if (i == json.size()) damaged("its manifest.json is empty");
        if (json[i] != '{') not_report("its manifest.json is not a JSON object (another program's manifest?)");
        damaged("its manifest.json is not valid JSON (cut short, or edited by hand)");
    }
    Json j;
    Manifest m;
    Fields f(j, m.odd_fields);
    Obj root = j.members(json, "manifest.json");

    const Value &id = get(root, "report_id");
    if (id.type != Value::kText || id.text.empty())
        not_report(id.present() ? fmt::format("the report_id in its manifest.json is {}, not a report id", id.type_name())
                                : "its manifest.json has no report_id (another program's manifest?)");
    m.report_id = id.text;
    Obj lib = f.object(root, "library", "library");
    m.library_name = f.text(lib, "name", "library.name");
    if (m.library_name && *m.library_name != "telltale")
        not_report(fmt::format("its manifest.json was written by {}, not telltale", quoted(*m.library_name)));
    m.library_version = f.text(lib, "version", "library.version");

    m.created_at = f.text(root, "created_at", "created_at");
    m.created_unix_nano = f.text(root, "created_unix_nano", "created_unix_nano");
    m.automatic = f.boolean(root, "automatic", "automatic");
    Obj app = f.object(root, "app", "app");
    m.app_name = f.text(app, "name", "app.name");
    m.app_version = f.text(app, "version", "app.version");
    Obj dev = f.object(root, "device", "device");
    m.os_name = f.text(dev, "os_name", "device.os_name");
    m.os_version = f.text(dev, "os_version", "device.os_version");
    m.kernel = f.text(dev, "kernel", "device.kernel");
    m.arch = f.text(dev, "arch", "device.arch");
    m.locale = f.text(dev, "locale", "device.locale");
    m.time_zone = f.text(dev, "time_zone", "device.time_zone");
    m.install_id = f.text(root, "install_id", "install_id");
    m.session_id = f.text(root, "session_id", "session_id");

    Obj addrs = f.array(root, "local_addresses", "local_addresses");
    for (size_t i = 0; i < addrs.size(); ++i) {
        std::string w = at("local_addresses", i);
        if (!f.is_object(addrs[i].second, w)) continue;
        Obj a = f.members(addrs[i].second, w);
        Address ad;
        ad.interface = f.text(a, "interface", w + ".interface");
        ad.family = f.text(a, "family", w + ".family");
        ad.address = f.text(a, "address", w + ".address");
        ad.loopback = f.boolean(a, "loopback", w + ".loopback").value_or(false);
        ad.is_private = f.boolean(a, "private", w + ".private").value_or(false);
        ad.link_local = f.boolean(a, "link_local", w + ".link_local").value_or(false);
        m.local_addresses.push_back(std::move(ad));
    }
    Obj user = f.object(root, "user", "user");
    m.description = f.text(user, "description", "user.description");
    m.contact = f.text(user, "contact", "user.contact");
    m.consent = f.text(root, "consent", "consent");
    for (auto &[k, v] : f.object(root, "counters", "counters")) {
        if (v.type == Value::kInteger) m.counters.emplace_back(k, v.integer);
        else if (v.present()) f.add_odd(fmt::format("counters.{} ({} where a whole number belongs)", printable(k), v.type_name()));
    }
    Obj win = f.object(root, "window", "window");
    m.window_seconds = f.integer(win, "seconds", "window.seconds");
    m.window_from = f.text(win, "from", "window.from");
    m.window_to = f.text(win, "to", "window.to");

    Obj reqs = f.array(root, "requests", "requests");
    for (size_t i = 0; i < reqs.size(); ++i) {
        std::string w = at("requests", i);
        if (!f.is_object(reqs[i].second, w)) continue;
        Obj o = f.members(reqs[i].second, w);
        Request r;
        r.time = f.text(o, "time", w + ".time");
        if (r.time) r.time_ns = parse_rfc3339(*r.time);
        r.kind = f.text(o, "kind", w + ".kind");
        r.name = f.text(o, "name", w + ".name");
        r.method = f.text(o, "method", w + ".method");
        r.host = f.text(o, "host", w + ".host");
        r.path = f.text(o, "path", w + ".path");
        r.status = f.integer(o, "status", w + ".status");
        r.duration_ms = f.number(o, "duration_ms", w + ".duration_ms");
        if (r.duration_ms && !std::isfinite(*r.duration_ms)) {  // 1e999 is valid JSON, and infinite
            f.add_odd(fmt::format("{}.duration_ms (a number too big for one)", w));
            r.duration_ms.reset();
        }
        r.error = f.text(o, "error", w + ".error");
        r.trace_id = f.text(o, "trace_id", w + ".trace_id");
        r.span_id = f.text(o, "span_id", w + ".span_id");
        r.server_ip = f.text(o, "server_ip", w + ".server_ip");
        r.cls = f.text(o, "class", w + ".class");
        for (auto &[k, v] : f.object(o, "server_ids", w + ".server_ids"))
            if (v.type == Value::kText) r.server_ids.emplace_back(k, v.text);
        m.requests.push_back(std::move(r));
    }
    Obj errs = f.array(root, "errors", "errors");
    for (size_t i = 0; i < errs.size(); ++i) {
        std::string w = at("errors", i);
        if (!f.is_object(errs[i].second, w)) continue;
        Obj o = f.members(errs[i].second, w);
        ErrorGroup g;
        g.fingerprint = f.text(o, "fingerprint", w + ".fingerprint");
        g.sample = f.text(o, "sample", w + ".sample");
        g.count = f.integer(o, "count", w + ".count");
        g.first = f.text(o, "first", w + ".first");
        g.last = f.text(o, "last", w + ".last");
        m.errors.push_back(std::move(g));
    }
    Obj logs = f.object(root, "logs", "logs");
    m.logs_part = f.text(logs, "part", "logs.part");
    m.logs_events = f.integer(logs, "events", "logs.events");
    m.logs_bytes_compressed = f.integer(logs, "bytes_compressed", "logs.bytes_compressed");
    m.logs_truncated = f.boolean(logs, "truncated", "logs.truncated");

    Obj atts = f.array(root, "attachments", "attachments");
    for (size_t i = 0; i < atts.size(); ++i) {
        std::string w = at("attachments", i);
        if (!f.is_object(atts[i].second, w)) continue;
        Obj o = f.members(atts[i].second, w);
        m.attachments.push_back(Attachment{f.text(o, "name", w + ".name"), f.integer(o, "bytes", w + ".bytes")});
    }
    Obj skipped = f.array(root, "attachments_skipped", "attachments_skipped");
    for (size_t i = 0; i < skipped.size(); ++i) {
        if (auto s = skipped[i].second.str()) m.attachments_skipped.push_back(*s);
        else f.add_odd(fmt::format("{} ({} where text belongs)", at("attachments_skipped", i), skipped[i].second.type_name()));
    }
    m.summary = f.text(root, "summary", "summary");

    const Value &nc = get(root, "network_check");
    if (nc.type == Value::kObject) {
        NetworkCheck c;
        Obj o = j.members(nc.text, "the manifest");
        c.proxy = f.text(o, "proxy", "network_check.proxy");
        Obj targets = f.array(o, "targets", "network_check.targets");
        for (size_t i = 0; i < targets.size(); ++i) {
            std::string w = at("network_check.targets", i);
            if (!f.is_object(targets[i].second, w)) continue;
            Obj t = f.members(targets[i].second, w);
            ProbeTarget p;
            p.target = f.text(t, "target", w + ".target");
            p.host = f.text(t, "host", w + ".host");
            p.dns_us = f.integer(t, "dns_us", w + ".dns_us");
            p.dns_error = f.text(t, "dns_error", w + ".dns_error");
            for (auto &[k, v] : f.array(t, "addresses", w + ".addresses"))
                if (v.type == Value::kText) p.addresses.push_back(v.text);
            p.tcp_connect_us = f.integer(t, "tcp_connect_us", w + ".tcp_connect_us");
            p.tls_connect_us = f.integer(t, "tls_connect_us", w + ".tls_connect_us");
            p.ok = f.boolean(t, "ok", w + ".ok");
            p.error = f.text(t, "error", w + ".error");
            c.targets.push_back(std::move(p));
        }
        m.network_check = std::move(c);
    } else if (nc.present()) {
        f.add_odd(fmt::format("network_check ({} where an object belongs)", nc.type_name()));
    }
    return m;
}

// ------------------------------------------------------------------------------- logs

std::string decompress_logs(std::string_view zst, uint64_t max_bytes) {
    std::string out;
    if (zst.empty()) return out;
    unsigned long long declared = ZSTD_getFrameContentSize(zst.data(), zst.size());
    if (declared == ZSTD_CONTENTSIZE_ERROR)
        damaged(fmt::format("its {} is not zstd data", kLogsPart));
    auto too_big = [&] {
        throw ReportError{ReportError::kTooBig,
                          fmt::format("its {} decompresses to more than {} MiB, more than this tool reads", kLogsPart, max_bytes >> 20),
                          fmt::format("extract it (tar -xf FILE {}) and read it with `zstd -dc {}`", kLogsPart, kLogsPart)};
    };
    if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared > max_bytes) too_big();

    std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx *)> d(ZSTD_createDCtx(), ZSTD_freeDCtx);
    if (!d) throw ReportError{ReportError::kIo, "zstd could not allocate a decompression context", "free some memory and retry"};
    ZSTD_DCtx_setParameter(d.get(), ZSTD_d_windowLogMax, 27);  // 128 MiB of window at most, whatever a frame asks for
    const size_t chunk = ZSTD_DStreamOutSize();
    const uint64_t limit = max_bytes + 1;  // one byte over the cap tells "too big" from "exactly the cap"
    if (declared != ZSTD_CONTENTSIZE_UNKNOWN) out.reserve(static_cast<size_t>(std::min<uint64_t>(declared, limit)));
    ZSTD_inBuffer in{zst.data(), zst.size(), 0};
    size_t pos = 0, ret = 0;
    for (;;) {
        if (out.size() - pos < chunk) {
            uint64_t want = std::max<uint64_t>(out.size() * 2, pos + chunk);
            out.resize(static_cast<size_t>(std::min(want, limit)));
        }
        ZSTD_outBuffer ob{out.data(), out.size(), pos};
        ret = ZSTD_decompressStream(d.get(), &ob, &in);
        if (ZSTD_isError(ret))
            damaged(fmt::format("its {} cannot be decompressed (zstd says: {}) after {} bytes", kLogsPart, ZSTD_getErrorName(ret), ob.pos));
        pos = ob.pos;
        if (pos > max_bytes) too_big();
        if (in.pos == in.size && ob.pos < ob.size) break;  // all input taken and all output flushed
    }
    if (ret != 0) damaged(fmt::format("its {} is cut short: it ends inside a zstd frame (after {} bytes of logs)", kLogsPart, pos));
    out.resize(pos);
    return out;
}

Logs parse_logs(std::string_view nd) {
    Logs logs;
    std::unique_ptr<Json> j;
    uint64_t line_no = 0;
    while (!nd.empty()) {
        size_t nl = nd.find('\n');
        std::string_view line = nd.substr(0, nl);
        nd = nl == std::string_view::npos ? std::string_view() : nd.substr(nl + 1);
        ++line_no;
        if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
        if (!tt::text::utf8_valid(line) || !json_is_object(line)) {
            if (!logs.bad_lines++) logs.first_bad_line = line_no;
            continue;
        }
        if (!j) j = std::make_unique<Json>();
        Obj o = j->members(line, kLogsPart);
        LogEvent e;
        const Value &tn = get(o, "time_unix_nano");
        if (tn.type == Value::kText) e.time_ns = digits_int64(tn.text);
        else if (tn.type == Value::kInteger) e.time_ns = tn.integer;
        if (!e.time_ns)
            if (auto t = get(o, "time").str()) e.time_ns = parse_rfc3339(*t);
        if (auto sev = get(o, "severity_number").int64()) e.level = *sev;
        else if (auto l = get(o, "level").str()) e.level = parse_level(*l).value_or(0);
        e.thread = get(o, "thread").int64().value_or(0);
        const Value &msg = get(o, "message");
        e.message = msg.type == Value::kText ? msg.text : msg.present() ? msg.text : std::string();
        e.trace_id = get(o, "trace_id").str();
        e.span_id = get(o, "span_id").str();
        const Value &attrs = get(o, "attrs");
        if (attrs.present()) e.attrs = attrs.text;  // an object as JSON; anything else is shown raw, as `dump` does
        logs.events.push_back(std::move(e));
    }
    return logs;
}

// ----------------------------------------------------------------------------- report

Report read_report(const Source &src, const Limits &lim) {
    Report r;
    r.tar = read_tar(src, lim);
    auto warn = [&](std::string w) {
        if (r.warnings.size() < kMaxWarnings) r.warnings.push_back(std::move(w));
        else if (r.warnings.size() == kMaxWarnings) r.warnings.push_back("(more warnings not shown)");
    };

    const TarEntry *me = r.tar.find(kManifestPart);
    if (!me) {
        std::string names;
        size_t shown = 0;
        for (const auto &e : r.tar.files) {
            if (shown == 8) {
                names += ", ...";
                break;
            }
            names += (shown++ ? ", " : "") + quoted(e.name, 60);
        }
        not_report(fmt::format("the tar archive has no manifest.json (it holds {})", names.empty() ? "no files" : names));
    }
    if (me->size > lim.max_manifest_bytes)
        throw ReportError{ReportError::kTooBig,
                          fmt::format("its manifest.json is {} bytes; telltale's are a few KiB, this tool reads up to {} MiB", me->size,
                                      lim.max_manifest_bytes >> 20),
                          "extract it (tar -xf FILE manifest.json) and read it with a JSON tool such as jq"};
    r.manifest_json.resize(static_cast<size_t>(me->size));
    src.read(me->offset, r.manifest_json.size(), r.manifest_json.data());
    r.manifest = parse_manifest(r.manifest_json);
    const Manifest &m = r.manifest;

    if (const TarEntry *le = r.tar.find(kLogsPart)) {
        if (le->size > lim.max_logs_compressed)
            throw ReportError{ReportError::kTooBig,
                              fmt::format("its {} is {} bytes compressed; this tool reads up to {} MiB", kLogsPart, le->size,
                                          lim.max_logs_compressed >> 20),
                              fmt::format("extract it (tar -xf FILE {}) and read it with `zstd -dc {}`", kLogsPart, kLogsPart)};
        std::string zst(static_cast<size_t>(le->size), '\0');
        src.read(le->offset, zst.size(), zst.data());
        std::string nd = decompress_logs(zst, lim.max_logs_bytes);
        r.has_logs = true;
        r.logs_compressed = le->size;
        r.logs_bytes = nd.size();
        r.logs = parse_logs(nd);
        if (r.logs.bad_lines)
            warn(fmt::format("{} line(s) of {} are not a JSON object (the first: line {}); they are left out", r.logs.bad_lines, kLogsPart,
                             r.logs.first_bad_line));
        uint64_t lines = r.logs.events.size() + r.logs.bad_lines;
        if (m.logs_events && static_cast<uint64_t>(*m.logs_events) != lines)
            warn(fmt::format("the manifest counts {} log events, {} holds {}", *m.logs_events, kLogsPart, lines));
        if (m.logs_bytes_compressed && static_cast<uint64_t>(*m.logs_bytes_compressed) != le->size)
            warn(fmt::format("the manifest says {} is {} bytes, the archive holds {}", kLogsPart, *m.logs_bytes_compressed, le->size));
    } else {
        warn(fmt::format("the archive has no {}: the timeline shows the requests only", kLogsPart));
    }

    for (const auto &a : m.attachments) {
        if (!a.name) continue;
        const TarEntry *e = r.tar.find("attachments/" + *a.name);
        if (!e) {
            // The library may cut a long name inside a UTF-8 character; the manifest has it repaired.
            for (const auto &f : r.tar.files) {
                std::string fixed;
                tt::text::utf8_repair(f.name, fixed);
                if (fixed == "attachments/" + *a.name) e = &f;
            }
        }
        if (!e) warn(fmt::format("the attachment {} named in the manifest is not in the archive", quoted(*a.name)));
        else if (a.bytes && static_cast<uint64_t>(*a.bytes) != e->size)
            warn(fmt::format("the attachment {} is {} bytes in the archive, the manifest says {}", quoted(*a.name), e->size, *a.bytes));
    }
    if (!r.tar.end_marker) warn("the tar archive ends without its end marker: the file may have been cut short after its last entry");
    if (!m.odd_fields.empty()) {
        std::string list;
        for (const auto &o : m.odd_fields) list += (list.empty() ? "" : "; ") + o;
        warn(fmt::format("fields of the manifest that are not what telltale writes were left out: {}", list));
    }
    return r;
}

}  // namespace ttcli::reportfile
