#include <doctest/doctest.h>

#include <string>

#include "core/text.hpp"

using namespace tt::text;

namespace {
std::string repair(std::string_view s) {
    std::string out;
    utf8_repair(s, out);
    return out;
}
}  // namespace

TEST_CASE("utf8_valid accepts well-formed text and rejects the classic bad cases") {
    CHECK(utf8_valid(""));
    CHECK(utf8_valid("plain ascii, long enough to use the eight-byte fast path"));
    CHECK(utf8_valid("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"));  // é € 😀
    CHECK_FALSE(utf8_valid("\xC0\xAF"));                        // overlong '/'
    CHECK_FALSE(utf8_valid("\xE0\x80\xAF"));                    // overlong, 3 bytes
    CHECK_FALSE(utf8_valid("\xED\xA0\x80"));                    // surrogate U+D800
    CHECK_FALSE(utf8_valid("\xF4\x90\x80\x80"));                // above U+10FFFF
    CHECK_FALSE(utf8_valid("\xFF"));
    CHECK_FALSE(utf8_valid("abc\xE2\x82"));                     // cut short
    CHECK_FALSE(utf8_valid("\x80"));                            // lone continuation
}

TEST_CASE("utf8_repair replaces each maximal invalid subpart with one U+FFFD") {
    const std::string R = "\xEF\xBF\xBD";
    CHECK(repair("ok") == "ok");
    CHECK(repair("a\xFF" "b") == "a" + R + "b");
    CHECK(repair("\xE2\x82" "x") == R + "x");                  // truncated 3-byte sequence: one replacement
    CHECK(repair("\xF0\x9F\x98") == R);                        // truncated 4-byte at the end
    CHECK(repair("\xC0\xAF") == R + R);                        // C0 never starts a sequence
    CHECK(repair("\xED\xA0\x80") == R + R + R);                // surrogate: each byte on its own
    CHECK(repair("\xC3\xA9\xFF\xC3\xA9") == "\xC3\xA9" + R + "\xC3\xA9");
    std::string out = "keep:";
    CHECK(utf8_repair("fine", out) == false);
    CHECK(out == "keep:fine");
    CHECK(utf8_repair("\x80", out) == true);
}

TEST_CASE("utf8_complete drops only a trailing incomplete character") {
    CHECK(utf8_complete("abc") == 3);
    CHECK(utf8_complete("ab\xC3") == 2);
    CHECK(utf8_complete("ab\xC3\xA9") == 4);
    CHECK(utf8_complete("ab\xE2\x82") == 2);
    CHECK(utf8_complete("ab\xF0\x9F\x98") == 2);
    CHECK(utf8_complete("ab\xF0\x9F\x98\x80") == 6);
    CHECK(utf8_complete("") == 0);
    CHECK(utf8_complete("\x80\x80\x80\x80\x80") == 5);  // garbage is left to utf8_repair
}

TEST_CASE("utf8_cut never splits a character") {
    CHECK(utf8_cut("hello", 10) == 5);
    CHECK(utf8_cut("hello", 3) == 3);
    CHECK(utf8_cut("a\xC3\xA9z", 2) == 1);
    CHECK(utf8_cut("a\xC3\xA9z", 3) == 3);
}

TEST_CASE("json_escape escapes quotes, backslashes and control characters") {
    std::string out;
    json_escape("a\"b\\c\nd\te\x01\x7f\xC3\xA9", out);
    CHECK(out == "a\\\"b\\\\c\\nd\\te\\u0001\\u007f\xC3\xA9");
}
