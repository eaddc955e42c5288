// libFuzzer target for the text layer every app string goes through: UTF-8 repair,
// truncation boundaries and JSON escaping. Invariants, not just "does not crash".
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/text.hpp"

#define CHECK_OR_ABORT(x) \
    do {                  \
        if (!(x)) std::abort(); \
    } while (0)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    using namespace tt::text;
    std::string_view in(reinterpret_cast<const char *>(data), size);
    std::string out;
    bool changed = utf8_repair(in, out);
    CHECK_OR_ABORT(utf8_valid(out));
    CHECK_OR_ABORT(changed == !utf8_valid(in));
    if (!changed) CHECK_OR_ABORT(out == in);
    std::string again;
    CHECK_OR_ABORT(!utf8_repair(out, again) && again == out);  // idempotent

    size_t max = size ? data[0] : 0;
    size_t cut = utf8_cut(out, max);
    CHECK_OR_ABORT(cut <= out.size() && (cut <= max || out.size() <= max));
    CHECK_OR_ABORT(utf8_valid(std::string_view(out).substr(0, cut)));
    size_t whole = utf8_complete(in.substr(0, std::min(max, size)));
    CHECK_OR_ABORT(whole <= std::min(max, size));

    std::string json;
    json_escape(out, json);
    CHECK_OR_ABORT(utf8_valid(json));
    for (unsigned char c : json) CHECK_OR_ABORT(c >= 0x20 && c != 0x7F);  // no raw control characters
    for (size_t i = 0; i < json.size(); ++i)
        if (json[i] == '"') CHECK_OR_ABORT(i > 0 && json[i - 1] == '\\');
    return 0;
}
