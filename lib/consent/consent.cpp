#include "consent/consent.hpp"

namespace tt::consent {

tt_consent effective(const Record &stored, const std::string &current_policy, bool keep) noexcept {
    if (stored.state == TT_CONSENT_UNKNOWN) return TT_CONSENT_UNKNOWN;
    if (!keep && !current_policy.empty() && stored.policy != current_policy) return TT_CONSENT_UNKNOWN;
    return stored.state;
}

const char *name(tt_consent c) noexcept {
    switch (c) {
    case TT_CONSENT_GRANTED: return "granted";
    case TT_CONSENT_DENIED: return "denied";
    default: return "unknown";
    }
}

bool skip_backlog(tt_consent before, tt_consent after) noexcept {
    // Leaving DENIED by any road (also through UNKNOWN): what was logged meanwhile stays home.
    return before == TT_CONSENT_DENIED && after != TT_CONSENT_DENIED;
}

}  // namespace tt::consent
