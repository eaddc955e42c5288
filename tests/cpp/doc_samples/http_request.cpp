// Trace HTTP calls from C++: telltale::Request around a cpp-httplib call (any HTTP
// library works the same way).
#include <cstdio>
#include <string>

#include <httplib.h>

#include <telltale/telltale.hpp>

#include "loopback.h"

// [doc:request]
// One GET, recorded by telltale. The Request is ended on every path: by end(), or by its
// destructor (as "abandoned") if an exception leaves the function first.
httplib::Result get_items(const telltale::Client &client, const std::string &host, int port, const std::string &path) {
    telltale::Request req(client, "GET", "http://" + host + ":" + std::to_string(port) + path);
    httplib::Client http(host, port);
    httplib::Result res = http.Get(path.c_str(), {{"traceparent", req.traceparent()}});
    client.debug("items fetched");  // inside the request: carries its trace id
    if (!res) {
        req.end(0, "no response: " + httplib::to_string(res.error()));  // status 0 and why
        return res;
    }
    for (const auto &[name, value] : res->headers) req.header(name, value);  // keeps the id headers
    req.bytes(0, res->body.size());
    req.end(res->status);
    return res;
}
// [/doc:request]

int main() {
    loopback server;
    if (loopback_start(&server) != 0) return 1;
    int refused_port = loopback_closed_port();
    bool fine = false;
    try {
        telltale::Client client(telltale::Options().db_path("app.db").app_name("getting-started"));
        // [doc:span]
        telltale::Span span(client, "refresh items");  // the two calls below become its children
        httplib::Result ok = get_items(client, "127.0.0.1", server.port, "/api/items");
        httplib::Result refused = get_items(client, "127.0.0.1", refused_port, "/api/items");
        span.end(refused ? "" : "one server did not answer");
        std::printf("trace %s: %d, then %s\n", span.trace_id().c_str(), ok ? ok->status : 0,
                    refused ? "a response" : httplib::to_string(refused.error()).c_str());
        // [/doc:span]
        client.flush();
        fine = ok && ok->status == 200 && !refused && client.stats().requests == 3;
    } catch (const telltale::Error &e) {
        std::fprintf(stderr, "%s\n", e.what());
    }
    loopback_stop(&server);
    return fine && std::strlen(server.last_traceparent) == 55 ? 0 : 1;
}
