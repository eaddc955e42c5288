// Getting started in C++: the same with the RAII wrapper, telltale.hpp.
#include <chrono>
#include <cstdio>
#include <string>

#include <telltale/telltale.hpp>

int main() {
    try {
        telltale::Client client(telltale::Options().db_path("app.db").app_name("getting-started").app_version("1.0.0"));

        std::string user = "u-42";
        client.info("app started");
        client.info("user {} signed in after {} ms", user, 135);
        client.log_attrs(TT_INFO, "user opened a screen", {{"user", user}, {"screen", "settings"}});
        if (!client.warn("slow response from {}", "sync.example.com")) {
            // Dropped: this thread's queue was full. Already counted in stats().dropped.
        }

        client.flush(std::chrono::seconds(5));  // everything logged so far is now in app.db
        tt_stats s = client.stats();
        std::printf("logged %llu, stored %llu, dropped %llu; %llu events in the buffer\n",
                    static_cast<unsigned long long>(s.logged), static_cast<unsigned long long>(s.stored),
                    static_cast<unsigned long long>(s.dropped), static_cast<unsigned long long>(s.events));
    } catch (const telltale::Error &e) {  // every failure is a telltale::Error
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
    // The Client closed itself at the end of the try block: flushed, threads stopped, file released.
    return 0;
}
