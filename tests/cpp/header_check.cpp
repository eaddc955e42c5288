// Builds the header under strict warnings as an error (-Werror), so that apps compiling
// with their own strict flags are not bothered by it. Instantiates every template.
#include <telltale/telltale.hpp>

#include <string>

bool header_check(telltale::Client &c, const std::string &s) {
    bool ok = c.trace("{}", s) && c.debug("{}", 1) && c.info("{}", 2u) && c.warn("{}", 3.0) && c.error("{}", 'x') &&
              c.fatal("{}", s.c_str()) && c.log(TT_INFO, "{} {}", s, 5);
    ok = ok && c.log_attrs(TT_INFO, "m", {{"k", s}});
    ok = ok && c.log_attrs(TT_INFO, {{"k", "v"}}, "{}", s);
    telltale::Attr a[] = {{"k", "v"}};
    ok = ok && c.log_attrs(TT_INFO, "m", a, 1);
    c.flush();
    return ok && c.stats().events > 0;
}
