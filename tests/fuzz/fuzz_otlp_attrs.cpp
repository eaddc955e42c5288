// libFuzzer target: the uploader's stored-JSON-object to OTLP attributes conversion. For
// any valid UTF-8 input the output is valid JSON: an array of {key, value} objects; input it
// cannot take member by member comes back whole as one "telltale.attrs" string.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/text.hpp"
#include "upload/outbox.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    std::string in(reinterpret_cast<const char *>(data), size);
    std::string o = R"([{"key":"thread.id","value":{"intValue":"1"}})";
    tt::upload::append_object_attrs(o, in, size % 2 ? "p." : "", size % 3 ? "stringValue" : "intValue");
    o += ']';
    if (!tt::text::utf8_valid(in)) return 0;  // the writer stores repaired UTF-8 only
    nlohmann::json a = nlohmann::json::parse(o, nullptr, false);
    if (a.is_discarded() || !a.is_array() || a.empty()) std::abort();
    for (auto &x : a)
        if (!x.contains("key") || !x["key"].is_string() || !x.contains("value") || !x["value"].is_object()) std::abort();
    if (a.size() == 2 && a[1]["key"] == "telltale.attrs" && a[1]["value"]["stringValue"] != in) std::abort();
    return 0;
}
