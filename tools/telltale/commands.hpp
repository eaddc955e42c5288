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

int dump(const DumpOptions &o);
int stats(const std::string &db, bool json);
int verify(const std::string &db);

}  // namespace ttcli
