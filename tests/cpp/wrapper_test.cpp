// Tests of the header-only C++ wrapper (include/telltale/telltale.hpp) against the shared
// library, built twice: as C++20 and as C++17. Every check of what was stored reads the
// real SQLite file with the SQLite C API.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include <telltale/telltale.hpp>

#include "util.hpp"

using tt_test::catch_error;
using tt_test::Db;
using tt_test::TempDir;

namespace {

telltale::Options opts_for(const std::string &path) { return telltale::Options().db_path(path).app_name("cpp-test").app_version("1.2.3"); }

// What the C ABI itself says for these options: the wrapper must report exactly this.
tt_error c_open_error(const tt_options &o, std::string &message, std::string &hint) {
    tt_client *c = nullptr;
    tt_status rc = tt_open(&c, &o);
    REQUIRE(rc != TT_OK);
    const tt_error *e = tt_error_last();
    CHECK(e->code == rc);
    message = e->message;
    hint = e->hint;
    return *e;
}

}  // namespace

static_assert(!std::is_copy_constructible_v<telltale::Client>);
static_assert(!std::is_copy_assignable_v<telltale::Client>);
static_assert(std::is_nothrow_move_constructible_v<telltale::Client>);
static_assert(std::is_nothrow_move_assignable_v<telltale::Client>);
static_assert(std::is_nothrow_destructible_v<telltale::Client>);
static_assert(std::is_base_of_v<std::runtime_error, telltale::Error>);
static_assert(std::is_nothrow_copy_constructible_v<telltale::Error>);

TEST_CASE("RAII: the destructor flushes and closes; the file is private and can be reopened") {
    TempDir dir;
    std::string path = dir.file("app.db");
    {
        telltale::Client c(opts_for(path));
        CHECK(c.is_open());
        CHECK(static_cast<bool>(c));
        CHECK(c.native_handle() != nullptr);
        CHECK(c.recovery_note().empty());
        CHECK(c.info("hello from {}", "raii"));
    }
    struct stat st;
    REQUIRE(stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    {
        Db db(path);
        auto rows = db.events();
        REQUIRE(rows.size() == 1);
        CHECK(rows[0].msg == "hello from raii");
        CHECK(rows[0].level == TT_INFO);
        CHECK(rows[0].attrs_null);
        CHECK(db.text("SELECT app_name FROM sessions") == "cpp-test");
        CHECK(db.text("SELECT app_version FROM sessions") == "1.2.3");
    }
    // Closed by the destructor: the same file opens again in this process.
    telltale::Client again(opts_for(path));
    CHECK(again.stats().events == 1);
}

TEST_CASE("a Client opens from a plain tt_options too") {
    TempDir dir;
    std::string path = dir.file("c.db");
    tt_options o = TT_OPTIONS_INIT;
    o.db_path = path.c_str();
    o.app_name = "cpp-test";
    telltale::Client c(o);
    CHECK(c.warn("from tt_options"));
    c.flush();
    CHECK(Db(path).text("SELECT msg FROM events") == "from tt_options");
}

TEST_CASE("formatted messages land in the buffer with their level") {
    TempDir dir;
    std::string path = dir.file("fmt.db");
    telltale::Client c(opts_for(path));
    int id = 42;
    std::string who = "alice";
    CHECK(c.trace("t {}", 1));
    CHECK(c.debug("d {:.2f}", 2.5));
    CHECK(c.info("user {} signed in", id));
    CHECK(c.warn("{} is {}", who, "late"));
    CHECK(c.error("no args"));
    CHECK(c.fatal("hex {:#x}", 255));
    CHECK(c.log(TT_INFO, "{}", who));
    CHECK(c.log(static_cast<tt_level>(11), "odd level {}", 11));
    std::string runtime_format = "runtime {}";
    CHECK(c.info(fmt::runtime(runtime_format), "ok"));
    std::string big(3000, 'x');  // bigger than the inline buffer: the heap path
    CHECK(c.info("big {} end", big));
    c.flush();

    auto rows = Db(path).events();
    REQUIRE(rows.size() == 10);
    CHECK(rows[0].msg == "t 1");
    CHECK(rows[0].level == TT_TRACE);
    CHECK(rows[1].msg == "d 2.50");
    CHECK(rows[1].level == TT_DEBUG);
    CHECK(rows[2].msg == "user 42 signed in");
    CHECK(rows[2].level == TT_INFO);
    CHECK(rows[3].msg == "alice is late");
    CHECK(rows[3].level == TT_WARN);
    CHECK(rows[4].msg == "no args");
    CHECK(rows[4].level == TT_ERROR);
    CHECK(rows[5].msg == "hex 0xff");
    CHECK(rows[5].level == TT_FATAL);
    CHECK(rows[6].msg == "alice");
    CHECK(rows[7].level == 11);
    CHECK(rows[8].msg == "runtime ok");
    CHECK(rows[9].msg == "big " + big + " end");
}

TEST_CASE("attributes land as a JSON object, copied with a NUL after each string") {
    TempDir dir;
    std::string path = dir.file("attrs.db");
    telltale::Client c(opts_for(path).max_attrs(64));

    CHECK(c.log_attrs(TT_INFO, "user opened a screen", {{"user", "u-42"}, {"screen", "settings"}}));

    // Views into the middle of a longer string: not NUL-terminated where they end.
    std::string backing = "keyVALUEmessage-and-more";
    std::string_view key(backing.data(), 3), value(backing.data() + 3, 5), msg(backing.data() + 8, 7);
    CHECK(c.log_attrs(TT_WARN, msg, {{key, value}}));

    std::string quoted = "say \"hi\"\n\\ ok";
    CHECK(c.log_attrs(TT_ERROR, "escaped", {{"q", quoted}, {"empty", ""}}));

    CHECK(c.log_attrs(TT_DEBUG, {{"host", "sync.example.com"}}, "retry {} of {}", 2, 5));
    CHECK(c.log_attrs(TT_DEBUG, {{"k", "v"}}, "plain"));
    CHECK(c.log_attrs(TT_INFO, "no attrs", {}));

    // More attributes than the inline array holds, built at run time.
    std::vector<std::string> keys, values;
    for (int i = 0; i < 40; ++i) {
        keys.push_back(fmt::format("k{}", i));
        values.push_back(fmt::format("v{}", i));
    }
    std::vector<telltale::Attr> many;
    for (int i = 0; i < 40; ++i) many.emplace_back(keys[i], values[i]);
    CHECK(c.log_attrs(TT_INFO, "many", many.data(), many.size()));
    c.flush();

    Db db(path);
    auto rows = db.events();
    REQUIRE(rows.size() == 7);
    CHECK(rows[0].msg == "user opened a screen");
    CHECK(rows[0].attrs == R"({"user":"u-42","screen":"settings"})");
    CHECK(rows[1].msg == "message");
    CHECK(rows[1].level == TT_WARN);
    CHECK(rows[1].attrs == R"({"key":"VALUE"})");
    CHECK(db.integer("SELECT json_valid(attrs) FROM events WHERE msg='escaped'") == 1);
    CHECK(db.text("SELECT json_extract(attrs, '$.q') FROM events WHERE msg='escaped'") == quoted);
    CHECK(db.text("SELECT json_extract(attrs, '$.empty') FROM events WHERE msg='escaped'").empty());
    CHECK(rows[3].msg == "retry 2 of 5");
    CHECK(rows[3].attrs == R"({"host":"sync.example.com"})");
    CHECK(rows[4].msg == "plain");
    CHECK(rows[5].attrs_null);
    CHECK(db.integer("SELECT count(*) FROM events, json_each(events.attrs) WHERE msg='many'") == 40);
    CHECK(db.text("SELECT json_extract(attrs, '$.k39') FROM events WHERE msg='many'") == "v39");
}

TEST_CASE("open failures throw telltale::Error with the library's code, message, hint and doc") {
    TempDir dir;

    SUBCASE("a path in a directory that does not exist: TT_ESTORE") {
        std::string path = dir.file("missing/sub/app.db");
        auto o = opts_for(path);
        std::string message, hint;
        c_open_error(o.c_options(), message, hint);
        telltale::Error e = catch_error([&] { telltale::Client c(o); });
        CHECK(e.code() == TT_ESTORE);
        CHECK(std::string(e.name()) == "TT_ESTORE");
        CHECK(e.doc() == "docs/errors.md#estore");
        CHECK(e.message() == message);
        CHECK(e.hint() == hint);
        CHECK(e.message().find(path) != std::string::npos);
        CHECK(!e.hint().empty());
        CHECK(std::string(e.what()) == "TT_ESTORE: " + message + ". Hint: " + hint + ". See docs/errors.md#estore");
    }

    SUBCASE("a path in a directory the process may not write: TT_ESTORE") {
        std::string path;
        if (geteuid() == 0) {
            path = "/proc/telltale-cpp-test.db";  // root may write anywhere on a normal file system
        } else {
            std::string ro = dir.file("ro");
            REQUIRE(mkdir(ro.c_str(), 0500) == 0);
            path = ro + "/app.db";
        }
        auto o = opts_for(path);
        std::string message, hint;
        c_open_error(o.c_options(), message, hint);
        telltale::Error e = catch_error([&] { telltale::Client c(o); });
        CHECK(e.code() == TT_ESTORE);
        CHECK(e.message() == message);
        CHECK(e.hint() == hint);
    }

    SUBCASE("the same file opened twice in one process: TT_EMISUSE") {
        std::string path = dir.file("twice.db");
        telltale::Client first(opts_for(path));
        telltale::Error e = catch_error([&] { telltale::Client second(opts_for(path)); });
        CHECK(e.code() == TT_EMISUSE);
        CHECK(e.doc() == "docs/errors.md#emisuse");
        CHECK(e.message().find("already open") != std::string::npos);
        CHECK(!e.hint().empty());
        // Another spelling of the same path is the same file.
        telltale::Error e2 = catch_error([&] { telltale::Client second(opts_for(dir.path().string() + "/./twice.db")); });
        CHECK(e2.code() == TT_EMISUSE);
        // The first client is unharmed.
        CHECK(first.info("still fine"));
    }

    SUBCASE("a missing app_name: TT_EINVAL") {
        telltale::Error e = catch_error([&] { telltale::Client c(telltale::Options().db_path(dir.file("x.db"))); });
        CHECK(e.code() == TT_EINVAL);
        CHECK(e.message().find("app_name") != std::string::npos);
        CHECK(e.doc() == "docs/errors.md#einval");
    }

    SUBCASE("tt_options from a newer header: TT_EMISUSE") {
        std::string path = dir.file("v.db");
        tt_options o = TT_OPTIONS_INIT;
        o.version = TT_OPTIONS_VERSION + 1;
        o.db_path = path.c_str();
        o.app_name = "x";
        telltale::Error e = catch_error([&] { telltale::Client c(o); });
        CHECK(e.code() == TT_EMISUSE);
        CHECK(e.message().find("version") != std::string::npos);
    }
}

TEST_CASE("log failures other than a full queue throw") {
    TempDir dir;
    std::string path = dir.file("logerr.db");
    telltale::Client c(opts_for(path));

    telltale::Error level = catch_error([&] { c.log(static_cast<tt_level>(25), "x");  /* in the enum type's range, outside 1..24 */ });
    CHECK(level.code() == TT_EINVAL);
    CHECK(level.message() == "tt_log: level is outside 1..24");

    std::string bad = "{} and {}";
    telltale::Error format = catch_error([&] { c.info(fmt::runtime(bad), 1); });
    CHECK(format.code() == TT_EINVAL);
    CHECK(format.message().find("bad format string") != std::string::npos);
    CHECK(format.doc() == "docs/errors.md#einval");

    telltale::Error null_attrs = catch_error([&] { c.log_attrs(TT_INFO, "x", nullptr, 1); });
    CHECK(null_attrs.code() == TT_EINVAL);

    c.flush();
    CHECK(c.stats().events == 0);  // nothing of the above was logged
}

TEST_CASE("a moved-from Client throws TT_EMISUSE; the target works") {
    TempDir dir;
    std::string path = dir.file("moved.db");
    telltale::Client a(opts_for(path));
    telltale::Client b = std::move(a);
    CHECK(!a.is_open());
    CHECK(a.native_handle() == nullptr);
    CHECK(b.is_open());

    telltale::Error e = catch_error([&] { a.info("lost"); });
    CHECK(e.code() == TT_EMISUSE);
    CHECK(e.doc() == "docs/errors.md#emisuse");
    CHECK(e.message().find("moved from") != std::string::npos);
    CHECK(!e.hint().empty());
    CHECK(catch_error([&] { a.log_attrs(TT_INFO, "lost", {{"k", "v"}}); }).code() == TT_EMISUSE);
    CHECK(catch_error([&] { a.flush(); }).code() == TT_EMISUSE);
    CHECK(catch_error([&] { a.stats(); }).code() == TT_EMISUSE);
    CHECK(catch_error([&] { a.close(); }).code() == TT_EMISUSE);

    CHECK(b.info("kept"));
    b.flush();
    CHECK(b.stats().events == 1);

    // Move assignment closes what the target held: its file is free again.
    std::string other = dir.file("other.db");
    telltale::Client c(opts_for(other));
    CHECK(c.info("in other"));
    c = std::move(b);
    telltale::Client reopened(opts_for(other));
    CHECK(reopened.stats().events == 1);
    CHECK(c.info("still the first file"));
    c.flush();
    CHECK(Db(path).integer("SELECT count(*) FROM events") == 2);
}

TEST_CASE("use after close() throws TT_EMISUSE; close() flushes") {
    TempDir dir;
    std::string path = dir.file("closed.db");
    telltale::Client c(opts_for(path));
    CHECK(c.info("before close"));
    c.close(std::chrono::seconds(5));
    CHECK(!c.is_open());
    CHECK(Db(path).integer("SELECT count(*) FROM events") == 1);

    telltale::Error e = catch_error([&] { c.info("after close"); });
    CHECK(e.code() == TT_EMISUSE);
    CHECK(std::string(e.name()) == "TT_EMISUSE");
    CHECK(e.message().find("closed") != std::string::npos);
    CHECK(catch_error([&] { c.error("after close {}", 1); }).code() == TT_EMISUSE);
    CHECK(catch_error([&] { c.log_attrs(TT_INFO, "after", {{"k", "v"}}); }).code() == TT_EMISUSE);
    CHECK(catch_error([&] { c.flush(); }).code() == TT_EMISUSE);
    CHECK(catch_error([&] { c.stats(); }).code() == TT_EMISUSE);
    CHECK(catch_error([&] { c.close(); }).code() == TT_EMISUSE);

    // The file is free: it opens again.
    telltale::Client again(opts_for(path));
    CHECK(again.stats().events == 1);
}

TEST_CASE("a full queue drops the event, returns false and counts it") {
    TempDir dir;
    std::string path = dir.file("full.db");
    // The ring holds at least 4 of the largest records the caps allow: small caps make a
    // ring of a couple of KiB, which a tight loop fills long before the writer wakes up.
    telltale::Client c(opts_for(path).queue_bytes(1).max_message_bytes(64).max_attr_bytes(16).max_attrs(1));
    constexpr int n = 20000;
    int dropped = 0;
    for (int i = 0; i < n; ++i)
        if (!c.info("event number {}", i)) ++dropped;
    c.flush();
    tt_stats s = c.stats();
    MESSAGE(dropped << " of " << n << " events dropped");
    CHECK(dropped > 0);
    CHECK(s.dropped == static_cast<uint64_t>(dropped));
    CHECK(s.logged == static_cast<uint64_t>(n));
    CHECK(s.stored == static_cast<uint64_t>(n - dropped));
    CHECK(Db(path).integer("SELECT count(*) FROM events") == n - dropped);
}

TEST_CASE("with TT_FULL_BLOCK the same burst loses nothing") {
    TempDir dir;
    std::string path = dir.file("block.db");
    telltale::Client c(opts_for(path).queue_bytes(1).max_message_bytes(64).max_attr_bytes(16).max_attrs(1).full_policy(TT_FULL_BLOCK));
    constexpr int n = 5000;
    int dropped = 0;
    for (int i = 0; i < n; ++i)
        if (!c.info("event number {}", i)) ++dropped;
    c.flush();
    CHECK(dropped == 0);
    CHECK(c.stats().stored == static_cast<uint64_t>(n));
}

TEST_CASE("stats() reports what happened") {
    TempDir dir;
    std::string path = dir.file("stats.db");
    telltale::Client c(opts_for(path).max_message_bytes(16));
    CHECK(c.info("short"));
    CHECK(c.info("{}", std::string(100, 'y')));  // over the cap: truncated with a marker
    c.flush();
    tt_stats s = c.stats();
    CHECK(s.version == TT_STATS_VERSION);
    CHECK(s.logged == 2);
    CHECK(s.stored == 2);
    CHECK(s.dropped == 0);
    CHECK(s.truncated == 1);
    CHECK(s.events == 2);
    CHECK(s.db_bytes > 0);
}

TEST_CASE("a damaged buffer is moved aside; recovery_note() names the moved file") {
    TempDir dir;
    std::string path = dir.file("bad.db");
    {
        std::ofstream f(path);
        f << "this is not a SQLite database, it is just some text that is long enough" << std::string(4096, '!');
    }
    {
        telltale::Client c(opts_for(path));
        CHECK(c.recovery_note().find(".corrupt-") != std::string::npos);
        CHECK(c.stats().corrupt_recovered == 1);
        CHECK(c.info("logging goes on"));
    }
    int moved = 0;
    for (auto &entry : std::filesystem::directory_iterator(dir.path()))
        if (entry.path().filename().string().rfind("bad.db.corrupt-", 0) == 0) ++moved;
    CHECK(moved == 1);
    CHECK(Db(path).integer("SELECT count(*) FROM events") == 1);

    // The TT_ECORRUPT note left in this thread's tt_error_last() is not mistaken for a
    // note of the next, clean open.
    telltale::Client clean(opts_for(dir.file("clean.db")));
    CHECK(clean.recovery_note().empty());
}

TEST_CASE("one Client, many threads; close() racing with loggers is safe") {
    TempDir dir;
    std::string path = dir.file("threads.db");
    telltale::Client c(opts_for(path));
    constexpr int threads = 4, per = 1000;
    {
        std::vector<std::thread> ts;
        for (int t = 0; t < threads; ++t)
            ts.emplace_back([&c, t] {
                for (int i = 0; i < per; ++i) c.log_attrs(TT_INFO, {{"thread", std::to_string(t)}}, "t{} i{}", t, i);
            });
        for (auto &t : ts) t.join();
    }
    c.flush();
    tt_stats s = c.stats();
    CHECK(s.stored + s.dropped == static_cast<uint64_t>(threads * per));

    std::atomic<int> misuse{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t)
        ts.emplace_back([&] {
            while (!go.load()) std::this_thread::yield();
            for (;;) {
                try {
                    c.info("racing");
                } catch (const telltale::Error &e) {
                    if (e.code() == TT_EMISUSE) ++misuse;
                    return;
                }
            }
        });
    go = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    c.close();
    for (auto &t : ts) t.join();
    CHECK(misuse == threads);
}

TEST_CASE("native_handle() works with the C ABI; Error::doc_of and version()") {
    TempDir dir;
    telltale::Client c(opts_for(dir.file("native.db")));
    CHECK(tt_log(c.native_handle(), TT_INFO, "through C") == TT_OK);
    c.flush();
    CHECK(c.stats().events == 1);
    CHECK(telltale::Error::doc_of(TT_OK) == "docs/errors.md#ok");
    CHECK(telltale::Error::doc_of(TT_ELIMIT) == "docs/errors.md#elimit");
    CHECK(telltale::Error::doc_of(-1000) == "docs/errors.md");
    CHECK(std::string(telltale::version()) == TT_VERSION_STRING);
    c.set_close_timeout(std::chrono::milliseconds(1500));
    CHECK(c.close_timeout() == std::chrono::milliseconds(1500));
}
