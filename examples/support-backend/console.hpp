#pragma once
namespace tsb {
const char *console_html();  // GET /
}
