// A plain POSIX ustar archive in memory: what `tar -x` reads on any system.
#pragma once
#include <string>
#include <string_view>

namespace tt::report {

class TarWriter {
public:
    // name: at most 100 bytes (ours are short: manifest.json, attachments/<name>).
    void add(std::string_view name, std::string_view data, uint64_t mtime);
    // The archive with its two zero blocks; the writer is done after this.
    std::string finish();

private:
    std::string out_;
};

}  // namespace tt::report
