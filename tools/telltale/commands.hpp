// The verbs. Each returns the exit code or throws ttcli::Failure.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

namespace ttcli {

struct DumpOptions {
    std::string db;
    std::optional<int64_t> since_ns;  // keep events with time_ns >= this
    std::optional<int> min_level;     // keep events with level >= this
};

struct RequestsOptions {
    std::string db;
    bool failed = false;              // only failures: no response, status >= 400, or an error text
    bool json = false;                // NDJSON (list) or one JSON object (--id)
    std::optional<std::string> id;    // a trace id, span id, traceparent or server request id
    std::optional<int64_t> since_ns;  // keep requests that started at or after this
    std::optional<int64_t> limit;     // the newest N (still printed oldest first)
};

struct ReportShowOptions {
    std::string file;   // an exported report: the tar tt_report_export writes
    bool json = false;  // one JSON object {"manifest", "timeline"}
};

int dump(const DumpOptions &o);
int requests(const RequestsOptions &o);
int stats(const std::string &db, bool json);
int verify(const std::string &db);
int report_show(const ReportShowOptions &o);

}  // namespace ttcli
