// The uploader's conversion of stored JSON objects into OTLP attributes: it copies the
// escaped strings without decoding them, so the result must parse back to the same values.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <string>

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
