#include <doctest/doctest.h>

#include <clocale>
#include <string>

#include "consent/consent.hpp"
#include "report/scrub.hpp"
#include "upload/retry.hpp"

using namespace tt;

namespace {
std::string scrubbed(std::string s) {
    report::scrub_text(s);
    return s;
}
}  // namespace

TEST_CASE("scrub: e-mails, bearer tokens, key=value secrets, cookies, URL user-info") {
    CHECK(scrubbed("mail alice.b+tag@mail.example.com now.") == "mail [email] now.");
    CHECK(scrubbed("not an email: a@b or @handle") == "not an email: a@b or @handle");
    CHECK(scrubbed("Authorization: Bearer abc.def.ghi") == "Authorization: [redacted]");
    CHECK(scrubbed("sent bearer 0123456789abcdef") == "sent bearer [redacted]");
    CHECK(scrubbed("password=hunter2&page=3") == "password=[redacted]&page=3");
    CHECK(scrubbed("GET /x?token=abc&page=2") == "GET /x?token=[redacted]&page=2");
    CHECK(scrubbed("Cookie: a=1; b=2") == "Cookie: [redacted]");
    CHECK(scrubbed("https://bob:pw@host/x") == "https://[redacted]@host/x");
    CHECK(scrubbed("{\"password\":\"p\\\"q\",\"ok\":\"yes\"}") == "{\"password\":\"[redacted]\",\"ok\":\"yes\"}");  // JSON stays JSON
    std::string plain = "nothing to see here: 42 items";
    CHECK_FALSE(report::scrub_text(plain));
    std::string twice = scrubbed(scrubbed("token=abc user@example.com"));
    CHECK(twice == scrubbed("token=abc user@example.com"));  // idempotent
}

TEST_CASE("fingerprints group the same error") {
    CHECK(report::fingerprint("timeout after 3012 ms on 10.0.0.7") == report::fingerprint("timeout after 15 ms on 10.0.0.9"));
    CHECK(report::fingerprint("user 1c6a3bd2-8b0e-4c5e-9f4f-2a1b3c4d5e6f not found") == "user <uuid> not found");
    CHECK(report::fingerprint("object deadbeef12 missing") == "object <hex> missing");
    CHECK(report::fingerprint("file 'a.txt' missing") == "file <s> missing");
    CHECK(report::fingerprint("disk full") != report::fingerprint("disk slow"));
}

TEST_CASE("retry rules: classification, Retry-After, full jitter") {
    using upload::Outcome;
    CHECK(upload::classify(200, false) == Outcome::kDelivered);
    CHECK(upload::classify(204, false) == Outcome::kDelivered);
    for (long s : {408L, 429L, 500L, 502L, 503L, 504L}) CHECK(upload::classify(s, false) == Outcome::kRetry);
    CHECK(upload::classify(0, true) == Outcome::kRetry);
    CHECK(upload::classify(413, false) == Outcome::kSplit);
    for (long s : {400L, 401L, 403L, 404L, 422L}) CHECK(upload::classify(s, false) == Outcome::kDrop);
    CHECK(upload::parse_retry_after("120", 0) == 120000u);
    CHECK(upload::parse_retry_after(" 7 ", 0) == 7000u);
    CHECK(upload::parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412470) == 10000u);
    CHECK(upload::parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412490) == 0u);  // in the past
    CHECK_FALSE(upload::parse_retry_after("soon", 0).has_value());
    CHECK_FALSE(upload::parse_retry_after("Wed, 32 Oct 2015 07:28:00 GMT", 0).has_value());
    CHECK_FALSE(upload::parse_retry_after("Wed, 21 Okt 2015 07:28:00 GMT", 0).has_value());
    CHECK_FALSE(upload::parse_retry_after("Wed, 21 Oct 2015 07:28:00 UTC", 0).has_value());
    CHECK_FALSE(upload::parse_retry_after("Wednesday, 21-Oct-15 07:28:00 GMT", 0).has_value());  // obsolete forms
    {
        // An app that set a locale (German month and day names) still reads the English date.
        const char *before = std::setlocale(LC_TIME, nullptr);
        std::string saved = before ? before : "C";
        bool de = std::setlocale(LC_TIME, "de_DE.UTF-8") != nullptr;
        CHECK(upload::parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111767) == 10000u);
        if (de) std::setlocale(LC_TIME, saved.c_str());
    }
    CHECK_FALSE(upload::parse_retry_after("", 0).has_value());
    CHECK(upload::backoff_ms(0, 1000, 300000, 0.999) < 1000);
    CHECK(upload::backoff_ms(3, 1000, 300000, 0.999) < 8000);
    CHECK(upload::backoff_ms(3, 1000, 300000, 0.999) > 7000);
    CHECK(upload::backoff_ms(30, 1000, 300000, 0.999) <= 300000);  // capped
    CHECK(upload::backoff_ms(30, 1000, 300000, 0.0) == 0);          // full jitter: down to zero
}

TEST_CASE("consent: the policy-version rule and leaving DENIED") {
    consent::Record r{TT_CONSENT_GRANTED, "v1", 1};
    CHECK(consent::effective(r, "v1", false) == TT_CONSENT_GRANTED);
    CHECK(consent::effective(r, "v2", false) == TT_CONSENT_UNKNOWN);
    CHECK(consent::effective(r, "v2", true) == TT_CONSENT_GRANTED);
    CHECK(consent::skip_backlog(TT_CONSENT_DENIED, TT_CONSENT_GRANTED));
    CHECK(consent::skip_backlog(TT_CONSENT_DENIED, TT_CONSENT_UNKNOWN));
    CHECK_FALSE(consent::skip_backlog(TT_CONSENT_UNKNOWN, TT_CONSENT_GRANTED));
}
