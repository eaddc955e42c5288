// What a tt_report_draft (the before_send callback's argument) points to.
#pragma once
#include <string>

struct tt_report_draft {
    std::string manifest;
};
