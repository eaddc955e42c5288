// Handling telltale errors in C++: diagnostics must never take the app down.
#include <cstdio>
#include <optional>
#include <string>

#include <telltale/telltale.hpp>

// [doc:open]
// Open the buffer, or run without diagnostics when that is impossible.
std::optional<telltale::Client> open_diagnostics(const std::string &path) {
    try {
        return telltale::Client(telltale::Options().db_path(path).app_name("demo"));
    } catch (const telltale::Error &e) {
        // e.what() is one line: "TT_ESTORE: <message>. Hint: <hint>. See docs/errors.md#estore"
        std::fprintf(stderr, "diagnostics off: %s\n", e.what());
        return std::nullopt;
    }
}
// [/doc:open]

int main() {
    // [doc:fields]
    try {
        telltale::Client client(telltale::Options().db_path("no-such-dir/app.db").app_name("demo"));
    } catch (const telltale::Error &e) {
        if (e.code() == TT_ESTORE) {
            // e.name() "TT_ESTORE", e.message(), e.hint(), e.doc() "docs/errors.md#estore"
            std::fprintf(stderr, "%s: %s\n  hint: %s\n  see %s\n", e.name(), e.message().c_str(), e.hint().c_str(),
                         e.doc().c_str());
        }
    }
    // [/doc:fields]

    std::optional<telltale::Client> diag = open_diagnostics("errors-sample.db");
    if (!diag) return 1;

    // [doc:misuse]
    telltale::Client &client = *diag;
    client.close();
    try {
        client.info("too late");
    } catch (const telltale::Error &e) {
        std::fprintf(stderr, "%s\n", e.what());  // TT_EMISUSE: telltale::Client::info: the client was already closed ...
    }
    // [/doc:misuse]
    return 0;
}
