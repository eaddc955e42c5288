// The reader behind `telltale report show`: an exported problem report (the plain ustar
// tar tt_report_export writes: manifest.json, logs.ndjson.zst, attachments/<name>) read
// without trusting a byte of it. Every size is bounds-checked against the file, the
// decompressed logs are capped, JSON is checked strictly before SQLite's JSON1 functions
// (an in-memory database) pick the fields out. Anything that is not a readable telltale
// report throws ReportError with what is wrong and what to do; nothing here prints.
//
// Kept free of the CLI's output and exit-code machinery, so that the fuzz target
// (tests/fuzz/fuzz_report.cpp) compiles it in and drives it with hostile bytes.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ttcli::reportfile {

// Why the file cannot be shown. `reason` reads after "FILE is not a telltale report: " (kNotReport),
// "FILE is damaged: " (kDamaged), "FILE is too big to show: " (kTooBig) or "cannot read FILE: " (kIo):
// describe() puts them together.
struct ReportError {
    enum Kind { kNotReport, kDamaged, kTooBig, kIo } kind;
    std::string reason;
    std::string hint;
};
std::string describe(const ReportError &e, std::string_view file);

// Random access to the bytes of the report.
class Source {
public:
    virtual ~Source() = default;
    virtual uint64_t size() const = 0;
    // Exactly n bytes at `offset` (the caller checked offset + n <= size()); throws ReportError.
    virtual void read(uint64_t offset, size_t n, char *out) const = 0;
};

class MemorySource final : public Source {
public:
    explicit MemorySource(std::string_view bytes) : bytes_(bytes) {}
    uint64_t size() const override { return bytes_.size(); }
    void read(uint64_t offset, size_t n, char *out) const override;

private:
    std::string_view bytes_;
};

// A regular file, read with pread: attachments are never loaded, only listed.
class FileSource final : public Source {
public:
    explicit FileSource(const std::string &path);  // throws ReportError (missing, directory, unreadable, empty)
    ~FileSource() override;
    FileSource(const FileSource &) = delete;
    FileSource &operator=(const FileSource &) = delete;
    uint64_t size() const override { return size_; }
    void read(uint64_t offset, size_t n, char *out) const override;

private:
    int fd_ = -1;
    uint64_t size_ = 0;
};

struct Limits {
    uint64_t max_manifest_bytes = 64ull << 20;
    uint64_t max_logs_compressed = 256ull << 20;
    uint64_t max_logs_bytes = 256ull << 20;  // decompressed
    size_t max_entries = 10000;
};

// ------------------------------------------------------------------------------- tar

struct TarEntry {
    std::string name;      // "./" prefixes dropped; may hold any bytes
    uint64_t offset = 0;   // of the data
    uint64_t size = 0;
};

struct Tar {
    std::vector<TarEntry> files;  // regular files, in archive order
    bool end_marker = false;      // the zero block that closes an archive was there
    const TarEntry *find(std::string_view name) const;  // the last of that name, as tar -x leaves it
};

// Walks the headers; throws ReportError for anything that is not an intact ustar archive.
Tar read_tar(const Source &src, const Limits &lim = {});

// ------------------------------------------------------------------------------ JSON

// One JSON value as SQLite's json_each reports it.
struct Value {
    enum Type { kMissing, kNull, kText, kInteger, kReal, kTrue, kFalse, kObject, kArray };
    Type type = kMissing;
    std::string text;  // kText: the string; kObject/kArray: the JSON text; numbers: as written
    int64_t integer = 0;
    double real = 0;

    bool present() const { return type != kMissing && type != kNull; }
    std::optional<std::string> str() const { return type == kText ? std::optional<std::string>(text) : std::nullopt; }
    std::optional<int64_t> int64() const { return type == kInteger ? std::optional<int64_t>(integer) : std::nullopt; }
    std::optional<double> number() const;
    std::optional<bool> boolean() const;
    const char *type_name() const;
};

// ------------------------------------------------------------------------- manifest

struct Address {
    std::optional<std::string> interface, family, address;
    bool loopback = false, is_private = false, link_local = false;
};

struct Request {
    std::optional<std::string> time, kind, name, method, host, path, error, trace_id, span_id, server_ip, cls;
    std::optional<int64_t> time_ns;  // from `time`
    std::optional<int64_t> status;
    std::optional<double> duration_ms;
    std::vector<std::pair<std::string, std::string>> server_ids;  // the text-valued members, in order
    bool http() const { return kind.value_or("http") != "span"; }
    bool failed() const;  // class is not "ok" (or, without a class: no response, >= 400, an error text)
};

struct ErrorGroup {
    std::optional<std::string> fingerprint, sample, first, last;
    std::optional<int64_t> count;
};

struct Attachment {
    std::optional<std::string> name;
    std::optional<int64_t> bytes;
};

struct ProbeTarget {
    std::optional<std::string> target, host, dns_error, error;
    std::optional<int64_t> dns_us, tcp_connect_us, tls_connect_us;
    std::optional<bool> ok;
    std::vector<std::string> addresses;
};

struct NetworkCheck {
    std::optional<std::string> proxy;  // nullopt: none
    std::vector<ProbeTarget> targets;
};

struct Manifest {
    std::string report_id;  // required
    std::optional<std::string> created_at, created_unix_nano;
    std::optional<bool> automatic;
    std::optional<std::string> app_name, app_version, library_name, library_version;
    std::optional<std::string> os_name, os_version, kernel, arch, locale, time_zone;
    std::optional<std::string> install_id, session_id, consent, description, contact, summary;
    std::vector<Address> local_addresses;
    std::vector<std::pair<std::string, int64_t>> counters;  // in manifest order
    std::optional<int64_t> window_seconds;
    std::optional<std::string> window_from, window_to;
    std::vector<Request> requests;  // as in the manifest: newest first
    std::vector<ErrorGroup> errors;
    std::optional<std::string> logs_part;
    std::optional<int64_t> logs_events, logs_bytes_compressed;
    std::optional<bool> logs_truncated;
    std::vector<Attachment> attachments;
    std::vector<std::string> attachments_skipped;
    std::optional<NetworkCheck> network_check;
    std::vector<std::string> odd_fields;  // known fields of an unexpected type (ignored), e.g. "app.version (a number)"
};

// Throws ReportError unless `json` is valid UTF-8 holding one strict JSON object with a
// text report_id (and, if it names one, the library "telltale").
Manifest parse_manifest(std::string_view json);

// ------------------------------------------------------------------------------ logs

struct LogEvent {
    std::optional<int64_t> time_ns;  // time_unix_nano, else `time`
    int64_t level = 0;               // severity_number, else from `level`
    int64_t thread = 0;
    std::string message;
    std::optional<std::string> trace_id, span_id;
    std::optional<std::string> attrs;  // the attrs object as JSON text (something else: its text)
};

// zstd frames to bytes; throws ReportError when damaged or over `max_bytes`.
std::string decompress_logs(std::string_view zst, uint64_t max_bytes);

struct Logs {
    std::vector<LogEvent> events;  // in file order
    uint64_t bad_lines = 0;        // not one JSON object: skipped
    uint64_t first_bad_line = 0;   // 1-based
};
Logs parse_logs(std::string_view ndjson);

// --------------------------------------------------------------------------- report

struct Report {
    std::string manifest_json;  // verbatim from the file: valid UTF-8, one JSON object
    Manifest manifest;
    Tar tar;
    bool has_logs = false;
    uint64_t logs_compressed = 0, logs_bytes = 0;
    Logs logs;
    std::vector<std::string> warnings;  // the report is readable, but something does not add up
};

Report read_report(const Source &src, const Limits &lim = {});

}  // namespace ttcli::reportfile
