// The outbox: its conversion of stored JSON objects into OTLP attributes (it copies the
// escaped strings without decoding them, so the result must parse back to the same
// values), and its connection following the buffer file.
#include <doctest/doctest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

#include "consent/consent.hpp"
#include "telltale/telltale.h"
#include "upload/outbox.hpp"

using tt::upload::append_object_attrs;
using json = nlohmann::json;

namespace {
// The attributes array written after an existing `thread.id` entry, parsed.
json attrs(std::string_view stored, std::string_view prefix = "", const char *number_type = "stringValue") {
    std::string o = "[";
    append_object_attrs(o, stored, prefix, number_type);
    o += ']';
    return json::parse(o);
}
}  // namespace

TEST_CASE("flat objects of strings: every member, in order, escapes kept") {
    json a = attrs(R"({"user":"u-1","q\"k":"a\\b \"c\" \n\u0001 é 😀"})");
    REQUIRE(a.size() == 2);
    CHECK(a[0] == json::parse(R"({"key":"user","value":{"stringValue":"u-1"}})"));
    CHECK(a[1]["key"] == "q\"k");
    CHECK(a[1]["value"]["stringValue"] == "a\\b \"c\" \n\x01 é 😀");
    CHECK(attrs(R"({"pair":"\ud83d\ude00"})")[0]["value"]["stringValue"] == "😀");
    CHECK(attrs("{}").empty());
    CHECK(attrs(" { } ").empty());
    CHECK(attrs("").empty());  // NULL in the table
}

TEST_CASE("prefixes and numbers: timings become intValue, reals stay strings") {
    json a = attrs(R"({"dns_us":120,"connect_us":-1,"ratio":0.5})", "telltale.timing.", "intValue");
    REQUIRE(a.size() == 3);
    CHECK(a[0] == json::parse(R"({"key":"telltale.timing.dns_us","value":{"intValue":"120"}})"));
    CHECK(a[1]["value"]["intValue"] == "-1");
    CHECK(a[2]["value"]["stringValue"] == "0.5");
    json b = attrs(R"({"x-reqid":"srv-1"})", "telltale.server_id.");
    CHECK(b[0]["key"] == "telltale.server_id.x-reqid");
}

TEST_CASE("anything else is kept whole as one string attribute, never lost and never invalid JSON") {
    for (const char *bad : {R"({"a":{"b":"c"}})", R"({"a":["x"]})", R"({"a":true})", R"({"a":null})", R"({"a":"unterminated)",
                            R"({"a" "b"})", R"(["a"])", "not json", R"({"a":"b",})", R"({"a":"b"} trailing)", R"({"a":"b")",
                            R"({"a":"\ud83d"})", R"({"a":"\ude00"})", R"({"a":"\x"})", "{\"a\":\"raw\x01\"}"}) {
        CAPTURE(bad);
        json a = attrs(bad);
        REQUIRE(a.size() == 1);
        CHECK(a[0]["key"] == "telltale.attrs");
        CHECK(a[0]["value"]["stringValue"] == bad);
    }
    // After other attributes, the separator is right and what came before stays.
    std::string o = R"([{"key":"thread.id","value":{"intValue":"7"}})";
    append_object_attrs(o, R"({"ok":"1","bad":{}})", "", "stringValue");
    o += ']';
    json a = json::parse(o);
    REQUIRE(a.size() == 2);
    CHECK(a[0]["key"] == "thread.id");
    CHECK(a[1]["key"] == "telltale.attrs");
}

// The writer moves a damaged buffer aside and starts a fresh file at the same path; the
// outbox's own connection must follow, or nothing logged afterwards is ever uploaded.
namespace {
void make_buffer(const std::string &path, int events, tt_consent consent) {
    tt_options o = TT_OPTIONS_INIT;
    o.db_path = path.c_str();
    o.app_name = "unit";
    tt_client *c = nullptr;
    REQUIRE(tt_open(&c, &o) == TT_OK);
    REQUIRE(tt_consent_set(c, consent, nullptr) == TT_OK);  // logs one event of its own
    for (int i = 0; i < events; ++i) tt_log(c, TT_INFO, "e");
    REQUIRE(tt_close(c, 10000) == TT_OK);
}
}  // namespace

TEST_CASE("the outbox follows a buffer file replaced under it") {
    char tmpl[] = "/tmp/tt-unit-XXXXXX";
    REQUIRE(mkdtemp(tmpl));
    std::string dir = tmpl, path = dir + "/a.db";
    make_buffer(path, 10, TT_CONSENT_GRANTED);
    {
        tt::upload::Outbox ob(path);
        auto b = ob.claim(tt::upload::Kind::kLogs, 1000);
        REQUIRE(b);
        CHECK(b->last - b->first + 1 == 11);
        CHECK(ob.load_consent().state == TT_CONSENT_GRANTED);
        // Moved aside, as Store::recover does, and a fresh buffer in its place.
        std::filesystem::rename(path, path + ".corrupt-x");
        for (const char *ext : {"-wal", "-shm"}) std::filesystem::remove(path + ext);
        make_buffer(path, 3, TT_CONSENT_GRANTED);
        // The batch from the old file is delivered after the switch: its ids mean nothing
        // in the fresh file, whose cursor must not jump to them.
        ob.delivered(tt::upload::Kind::kLogs, *b);
        auto fresh = ob.claim(tt::upload::Kind::kLogs, 1000);
        REQUIRE(fresh);
        CHECK(fresh->first == 1);
        CHECK(fresh->last == 4);
        uint64_t rows = 0;
        CHECK(ob.encode(tt::upload::Kind::kLogs, *b, {}, rows).empty());  // the old batch: nothing to send
        CHECK(rows == 0);
    }
    std::filesystem::remove(path);
    for (const char *ext : {"-wal", "-shm"}) std::filesystem::remove(path + ext);
    {
        make_buffer(path, 2, TT_CONSENT_GRANTED);
        tt::upload::Outbox ob(path);
        std::filesystem::rename(path, path + ".corrupt-y");
        for (const char *ext : {"-wal", "-shm"}) std::filesystem::remove(path + ext);
        make_buffer(path, 3, TT_CONSENT_DENIED);
        CHECK(ob.load_consent().state == TT_CONSENT_DENIED);  // the new file's answer
        CHECK_FALSE(ob.claim(tt::upload::Kind::kLogs, 1000));  // and it is honoured
    }
    std::filesystem::remove_all(dir);
}
