// Consent: UNKNOWN (ask), GRANTED, DENIED, remembered with the policy version the user
// answered. An answer given for another policy version counts as UNKNOWN, unless the
// app opted out of that (the user is then not asked again for a minor policy change).
#pragma once
#include <cstdint>
#include <string>

#include "telltale/telltale.h"

namespace tt::consent {

struct Record {
    tt_consent state = TT_CONSENT_UNKNOWN;
    std::string policy;     // the version the user answered; "" if never
    uint64_t set_at_ns = 0;
};

// What counts now, given what was stored and the policy the app shows today.
tt_consent effective(const Record &stored, const std::string &current_policy, bool keep_on_policy_change) noexcept;

// "unknown", "granted", "denied".
const char *name(tt_consent c) noexcept;

// The upload cursor to use after a change from `before` (the stored answer) to `after`:
// out of DENIED (to GRANTED or UNKNOWN), what was logged while denied is skipped for
// good (the user said no then); otherwise the cursor stays. True: jump to the end.
bool skip_backlog(tt_consent before, tt_consent after) noexcept;

}  // namespace tt::consent
