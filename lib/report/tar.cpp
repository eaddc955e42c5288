#include "report/tar.hpp"

#include <cstdio>
#include <cstring>

namespace tt::report {

void TarWriter::add(std::string_view name, std::string_view data, uint64_t mtime) {
    char h[512];
    std::memset(h, 0, sizeof h);
    std::memcpy(h, name.data(), std::min<size_t>(name.size(), 99));
    std::snprintf(h + 100, 8, "%07o", 0644);
    std::snprintf(h + 108, 8, "%07o", 0);
    std::snprintf(h + 116, 8, "%07o", 0);
    std::snprintf(h + 124, 12, "%011llo", static_cast<unsigned long long>(data.size()));
    std::snprintf(h + 136, 12, "%011llo", static_cast<unsigned long long>(mtime));
    h[156] = '0';  // regular file
    std::memcpy(h + 257, "ustar", 6);
    std::memcpy(h + 263, "00", 2);
    std::memcpy(h + 265, "telltale", 8);
    std::memcpy(h + 297, "telltale", 8);
    std::memset(h + 148, ' ', 8);  // the checksum counts its own field as spaces
    unsigned sum = 0;
    for (unsigned char c : h) sum += c;
    std::snprintf(h + 148, 8, "%06o", sum);
    h[155] = ' ';
    out_.append(h, sizeof h);
    out_.append(data);
    out_.append((512 - data.size() % 512) % 512, '\0');
}

std::string TarWriter::finish() {
    out_.append(1024, '\0');
    return std::move(out_);
}

}  // namespace tt::report
