// What support asks the backend: lookups and reports (lookup.cpp), and triage: each
// report's diagnosis, problems ranked by clients, incidents (triage.cpp).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "store.hpp"

namespace tsb {

using nlohmann::json;

// GET /api/reports/{id}: nullopt when unknown.
std::optional<json> report_detail(Store &st, const std::string &id);
// GET /api/lookup?q=: {"query","kind","clients","timeline"}; kind "none" when nothing matched.
json lookup(Store &st, const std::string &q, size_t max_rows = 5000);

struct Incident {
    int64_t id = 0, opened_ns = 0;
    std::string source, title, notice;
};
struct StormRule {
    int64_t minutes = 10;    // look at the reports of the last `minutes`
    int64_t threshold = 20;  // more reports than this: an incident
};
// The open incident support declared or the detector opened; nullopt when none.
std::optional<Incident> open_incident(Store &st);
// Opens an incident when the last minutes hold more reports than the threshold (and none is open).
void detect_storm(Store &st, const StormRule &rule, int64_t now_ns);
json incidents_json(Store &st, const StormRule &rule, int64_t now_ns);
// POST /api/incidents: {"action":"declare","title","notice"} or {"action":"close","id"}; an error text on bad input.
std::optional<std::string> change_incident(Store &st, const json &req, int64_t now_ns, json &answer);

// Diagnosis of one report from its manifest: {"summary","causes":[...],"suggested_answer"}.
json diagnose(const json &manifest, const std::optional<Incident> &incident);

// GET /api/problems?window=24h: error fingerprints, most distinct clients first.
json problems(Store &st, int64_t window_ns, int64_t now_ns);
// "24h", "90m", "7d", "3600s" -> nanoseconds; 0 when unreadable.
int64_t parse_window(const std::string &w);

}  // namespace tsb
