// Nesting and threads with the C++ wrapper: Span, Request, Context, ContextScope.
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <telltale/telltale.hpp>

#include "loopback.h"

namespace {

// The app's HTTP code, reduced to what the sample needs.
int http_get(const std::string &url, const char *traceparent) {
    const char *error = nullptr;
    return app_http_get(url.c_str(), "traceparent", traceparent, [](const char *, const char *, void *) {}, nullptr, &error);
}

}  // namespace

// [doc:nesting]
// Spans and requests begun while another one is open on this thread become its children;
// events logged meanwhile carry the ids of the innermost one.
void open_document(const telltale::Client &client, const std::string &url) {
    telltale::Span doc(client, "open document");   // no context yet: a new trace
    client.info("opening {}", url);                // in "open document"

    telltale::Span cache(client, "read cache");    // a child of "open document"
    client.debug("cache miss");                    // in "read cache"
    cache.end();                                   // back in "open document"

    telltale::Request fetch(client, "GET", url);   // a child of "open document" too
    int status = http_get(url, fetch.traceparent());
    fetch.end(status, status ? "" : "no response");
    doc.end(status == 200 ? "" : "download failed");
}  // ended in reverse order of their begin: the thread's context is back to none
// [/doc:nesting]

// [doc:thread]
// Work handed to another thread stays in the caller's trace: take the context here,
// set it there for as long as the work runs.
void save_in_background(const telltale::Client &client, std::vector<std::thread> &workers) {
    telltale::Context ctx = telltale::Context::current();  // the caller's open request or span
    workers.emplace_back([&client, ctx] {
        telltale::ContextScope scope(ctx);                  // this thread is in it until the scope ends
        client.info("saving on a worker");                  // carries the caller's trace and span id
        telltale::Span save(client, "write file");          // a child of the caller's span
        save.end();
    });
}
// [/doc:thread]

int main() {
    loopback server;
    if (loopback_start(&server) != 0) return 1;
    bool fine = false;
    try {
        telltale::Client client(telltale::Options().db_path("app.db").app_name("tracing"));
        open_document(client, "http://127.0.0.1:" + std::to_string(server.port) + "/documents/42");

        std::vector<std::thread> workers;
        telltale::Span save(client, "save document");
        save_in_background(client, workers);
        for (auto &w : workers) w.join();
        save.end();

        client.flush();
        tt_stats s = client.stats();
        std::printf("%llu requests and spans recorded\n", static_cast<unsigned long long>(s.requests));
        fine = s.requests == 5 && !telltale::Context::current();
    } catch (const telltale::Error &e) {
        std::fprintf(stderr, "%s\n", e.what());
    }
    loopback_stop(&server);
    return fine && server.served == 1 ? 0 : 1;
}
