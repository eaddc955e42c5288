// libFuzzer target for the reader of `telltale report show` (tools/telltale/report_file.cpp):
// the ustar walk, the manifest picked apart through SQLite's JSON1, the zstd logs and their
// NDJSON. Any input either fails with a ReportError or gives a report whose invariants hold.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "cli.hpp"
#include "core/text.hpp"
#include "report_file.hpp"

#define CHECK_OR_ABORT(x) \
    do {                  \
        if (!(x)) std::abort(); \
    } while (0)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    using namespace ttcli::reportfile;
    std::string_view in(reinterpret_cast<const char *>(data), size);
    MemorySource src(in);
    Limits lim;
    lim.max_logs_bytes = 8u << 20;  // a zstd bomb stops here, well inside libFuzzer's memory limit
    lim.max_manifest_bytes = 1u << 20;
    try {
        Report r = read_report(src, lim);
        // Whatever came in, what `report show` embeds is one valid JSON object, and every part lies inside the input.
        CHECK_OR_ABORT(tt::text::utf8_valid(r.manifest_json));
        CHECK_OR_ABORT(ttcli::json_is_object(r.manifest_json));
        CHECK_OR_ABORT(!r.manifest.report_id.empty());
        CHECK_OR_ABORT(r.manifest_json.size() <= size);
        CHECK_OR_ABORT(r.logs_bytes <= lim.max_logs_bytes);
        for (const auto &f : r.tar.files) CHECK_OR_ABORT(f.offset <= size && f.size <= size - f.offset);
        CHECK_OR_ABORT(r.tar.find("manifest.json") != nullptr);
        CHECK_OR_ABORT(r.warnings.size() <= 21);
    } catch (const ReportError &e) {
        CHECK_OR_ABORT(!e.reason.empty());
        CHECK_OR_ABORT(!describe(e, "f.tar").empty());
    }
    // The tar walk alone, and the manifest parser on the raw input (a lone manifest.json).
    try {
        Tar t = read_tar(src, lim);
        for (const auto &f : t.files) CHECK_OR_ABORT(f.offset <= size && f.size <= size - f.offset);
    } catch (const ReportError &) {
    }
    try {
        Manifest m = parse_manifest(in);
        CHECK_OR_ABORT(!m.report_id.empty());
    } catch (const ReportError &) {
    }
    return 0;
}
