// Every C ABI entry point with NULL and bad arguments: a clear status, a message, a
// hint and a doc link; never a crash.
#include <doctest/doctest.h>

#include <cstring>
#include <string>

#include "util.hpp"

using namespace tt_test;

namespace {

// The last error is complete: code, words, hint and a docs/errors.md anchor.
void check_error(tt_status got, tt_status want, const char *needle) {
    CHECK(got == want);
    const tt_error *e = tt_error_last();
    REQUIRE(e != nullptr);
    CHECK(e->code == want);
    REQUIRE(e->message != nullptr);
    REQUIRE(e->hint != nullptr);
    REQUIRE(e->doc != nullptr);
    INFO("message: " << e->message);
    CHECK(std::strstr(e->message, needle) != nullptr);
    CHECK(std::strlen(e->hint) > 10);
    CHECK(std::string(e->doc).rfind("docs/errors.md#", 0) == 0);
}

}  // namespace

TEST_CASE("status names and descriptions never return NULL") {
    for (int s = -40; s <= 5; ++s) {
        REQUIRE(tt_status_name(s) != nullptr);
        REQUIRE(tt_status_describe(s) != nullptr);
    }
    CHECK(std::string(tt_status_name(TT_OK)) == "TT_OK");
    CHECK(std::string(tt_status_name(TT_EINVAL)) == "TT_EINVAL");
    CHECK(std::string(tt_status_name(TT_ELIMIT)) == "TT_ELIMIT");
    CHECK(std::string(tt_status_name(TT_ECANCELED)) == "TT_ECANCELED");
    CHECK(std::string(tt_status_name(-14)) == "TT_UNKNOWN");
    CHECK(std::string(tt_status_name(-1000)) == "TT_UNKNOWN");
    CHECK(std::string(tt_version()) == TT_VERSION_STRING);
    REQUIRE(tt_error_last() != nullptr);
}

TEST_CASE("tt_open rejects NULL and bad options") {
    TempDir d;
    std::string db = d.file("a.db");
    tt_options o = TT_OPTIONS_INIT;
    o.db_path = db.c_str();
    o.app_name = "t";
    check_error(tt_open(nullptr, &o), TT_EINVAL, "out is NULL");
    tt_client *c = reinterpret_cast<tt_client *>(0x1);
    check_error(tt_open(&c, nullptr), TT_EINVAL, "opts is NULL");
    CHECK(c == nullptr);  // out is cleared on failure

    tt_options bad = o;
    bad.version = 99;
    check_error(tt_open(&c, &bad), TT_EMISUSE, "version is 99");
    bad.version = 0;
    check_error(tt_open(&c, &bad), TT_EMISUSE, "version is 0");

    bad = o;
    bad.db_path = nullptr;
    check_error(tt_open(&c, &bad), TT_EINVAL, "db_path is NULL");
    bad.db_path = "";
    check_error(tt_open(&c, &bad), TT_EINVAL, "db_path is empty");
    bad = o;
    bad.app_name = nullptr;
    check_error(tt_open(&c, &bad), TT_EINVAL, "app_name is NULL");
    bad = o;
    bad.max_db_bytes = 100;
    check_error(tt_open(&c, &bad), TT_EINVAL, "max_db_bytes");
    bad = o;
    bad.full_policy = static_cast<tt_full_policy>(7);
    check_error(tt_open(&c, &bad), TT_EINVAL, "full_policy");

    bad = o;
    std::string missing = d.file("no/such/dir/a.db");
    bad.db_path = missing.c_str();
    check_error(tt_open(&c, &bad), TT_ESTORE, "cannot be opened");
    CHECK(std::string(tt_error_last()->hint).find("directory") != std::string::npos);

    bad.db_path = d.path.c_str();  // a directory
    check_error(tt_open(&c, &bad), TT_ESTORE, d.path.c_str());

    CHECK(!std::filesystem::exists(db));  // nothing was created by the failed calls

    // tt_open clears the last error: after TT_OK it says TT_OK (or tt_open's own recovery note).
    REQUIRE(tt_error_last()->code != TT_OK);
    REQUIRE(tt_open(&c, &o) == TT_OK);
    CHECK(tt_error_last()->code == TT_OK);
    REQUIRE(tt_close(c, 10000) == TT_OK);
}

TEST_CASE("tt_options_init and tt_stats_init") {
    tt_options o;
    std::memset(&o, 0xAB, sizeof o);
    tt_options_init(&o);
    CHECK(o.version == TT_OPTIONS_VERSION);
    CHECK(o.db_path == nullptr);
    CHECK(o.max_db_bytes == 0);
    tt_options_init(nullptr);  // no crash
    tt_stats s;
    tt_stats_init(&s);
    CHECK(s.version == TT_STATS_VERSION);
    tt_stats_init(nullptr);
}

TEST_CASE("NULL and foreign clients are misuse") {
    check_error(tt_log(nullptr, TT_INFO, "x"), TT_EMISUSE, "NULL");
    check_error(tt_log_attrs(nullptr, TT_INFO, "x", nullptr, 0), TT_EMISUSE, "NULL");
    check_error(tt_flush(nullptr, 10), TT_EMISUSE, "NULL");
    tt_stats s = TT_STATS_INIT;
    check_error(tt_stats_get(nullptr, &s), TT_EMISUSE, "NULL");
    CHECK(tt_close(nullptr, 10) == TT_OK);  // destructors accept NULL

    alignas(64) unsigned char junk[256];
    std::memset(junk, 0x5A, sizeof junk);
    auto *fake = reinterpret_cast<tt_client *>(junk);
    check_error(tt_log(fake, TT_INFO, "x"), TT_EMISUSE, "not a telltale client");
    check_error(tt_flush(fake, 10), TT_EMISUSE, "not a telltale client");
    check_error(tt_close(fake, 10), TT_EMISUSE, "not a telltale client");
}

TEST_CASE("bad log arguments") {
    TempDir d;
    tt_client *c = open_client(d.file("a.db"));
    REQUIRE(c);
    check_error(tt_log(c, TT_INFO, nullptr), TT_EINVAL, "msg is NULL");
    check_error(tt_log(c, static_cast<tt_level>(0), "x"), TT_EINVAL, "level");
    check_error(tt_log(c, static_cast<tt_level>(25), "x"), TT_EINVAL, "level");
    check_error(tt_log_attrs(c, TT_INFO, "x", nullptr, 3), TT_EINVAL, "attrs is NULL");
    tt_attr a[2] = {{"k", "v"}, {nullptr, "v"}};
    check_error(tt_log_attrs(c, TT_INFO, "x", a, 2), TT_EINVAL, "NULL key");
    tt_attr nullval[1] = {{"k", nullptr}};
    CHECK(tt_log_attrs(c, TT_INFO, "null value", nullval, 1) == TT_OK);  // stored as "(null)", like printf
    CHECK(tt_log_attrs(c, TT_INFO, "no attrs", nullptr, 0) == TT_OK);

    tt_stats s = TT_STATS_INIT;
    check_error(tt_stats_get(c, nullptr), TT_EINVAL, "out is NULL");
    s.version = 42;
    check_error(tt_stats_get(c, &s), TT_EMISUSE, "version is 42");

    REQUIRE(tt_flush(c, 10000) == TT_OK);
    tt_stats ok = stats_of(c);
    CHECK(ok.logged == 2);  // rejected calls are not logged
    CHECK(ok.stored == 2);
    REQUIRE(tt_close(c, 10000) == TT_OK);
    CHECK(sql_text(d.file("a.db"), "SELECT attrs FROM events WHERE msg='null value'") == "{\"k\":\"(null)\"}");
}

TEST_CASE("use after close, double close and a file opened twice are misuse") {
    TempDir d;
    std::string db = d.file("a.db");
    tt_client *c = open_client(db);
    REQUIRE(c);
    REQUIRE(tt_log(c, TT_INFO, "before") == TT_OK);

    tt_client *again = nullptr;
    tt_options o = TT_OPTIONS_INIT;
    o.db_path = db.c_str();
    o.app_name = "t";
    check_error(tt_open(&again, &o), TT_EMISUSE, "already open in this process");
    // The same file through another spelling of its path is the same file.
    std::string other = d.path + "/./a.db";
    o.db_path = other.c_str();
    check_error(tt_open(&again, &o), TT_EMISUSE, "already open");
    CHECK(again == nullptr);

    REQUIRE(tt_close(c, 10000) == TT_OK);
    check_error(tt_log(c, TT_INFO, "after"), TT_EMISUSE, "closed");
    check_error(tt_flush(c, 10), TT_EMISUSE, "closed");
    tt_stats s = TT_STATS_INIT;
    check_error(tt_stats_get(c, &s), TT_EMISUSE, "closed");
    check_error(tt_close(c, 10), TT_EMISUSE, "closed");

    // Once closed, the file can be opened again and holds what was logged.
    tt_client *c2 = open_client(db);
    REQUIRE(c2);
    CHECK(stats_of(c2).events == 1);
    // The old handle stays dead even though a new client is open on the same file.
    check_error(tt_log(c, TT_INFO, "stale"), TT_EMISUSE, "closed");
    REQUIRE(tt_close(c2, 10000) == TT_OK);
}

TEST_CASE("huge strings are truncated with a marker, invalid UTF-8 is repaired") {
    TempDir d;
    std::string db = d.file("a.db");
    tt_options o = TT_OPTIONS_INIT;
    o.max_message_bytes = 100;
    o.max_attr_bytes = 50;
    o.max_attrs = 2;
    tt_client *c = open_client(db, o);
    REQUIRE(c);
    std::string huge(10u << 20, 'x');  // 10 MiB
    CHECK(tt_log(c, TT_INFO, huge.c_str()) == TT_OK);
    // A multi-byte character across the cut: never split.
    std::string accents = "a";  // the cut at byte 100 falls inside the 50th é
    for (int i = 0; i < 80; ++i) accents += "\xC3\xA9";
    CHECK(tt_log(c, TT_INFO, accents.c_str()) == TT_OK);
    CHECK(tt_log(c, TT_INFO, "bad \xFF\xFE utf8 \xC3") == TT_OK);
    std::string longval(1000, 'v');
    tt_attr a[3] = {{"k1", longval.c_str()}, {"k\xFF", "ok"}, {"dropped", "x"}};
    CHECK(tt_log_attrs(c, TT_INFO, "attrs", a, 3) == TT_OK);
    REQUIRE(tt_flush(c, 10000) == TT_OK);
    tt_stats s = stats_of(c);
    CHECK(s.stored == 4);
    CHECK(s.truncated == 3);
    CHECK(s.repaired == 2);
    REQUIRE(tt_close(c, 10000) == TT_OK);

    std::string m1 = sql_text(db, "SELECT msg FROM events WHERE id=1");
    CHECK(m1 == std::string(100, 'x') + "\xE2\x80\xA6[truncated]");
    std::string m2 = sql_text(db, "SELECT msg FROM events WHERE id=2");
    CHECK(m2 == accents.substr(0, 99) + "\xE2\x80\xA6[truncated]");
    CHECK(sql_text(db, "SELECT msg FROM events WHERE id=3") == "bad \xEF\xBF\xBD\xEF\xBF\xBD utf8 \xEF\xBF\xBD");
    std::string attrs = sql_text(db, "SELECT attrs FROM events WHERE id=4");
    CHECK(attrs == "{\"k1\":\"" + std::string(50, 'v') + "\xE2\x80\xA6[truncated]\",\"k\xEF\xBF\xBD\":\"ok\",\"telltale.attrs_dropped\":\"true\"}");
    CHECK(sql_int(db, "SELECT json_valid(attrs) FROM events WHERE id=4") == 1);
}
