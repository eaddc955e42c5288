// Compiled (not linked) by two tests: as is it must compile; with -DTT_BAD_FORMAT the
// compiler must reject the format string - format errors are compile errors in C++20.
#include <telltale/telltale.hpp>

void use(telltale::Client &c, int id) {
#ifdef TT_BAD_FORMAT
    c.info("user {} signed in at {}", id);  // two placeholders, one argument
#else
    c.info("user {} signed in", id);
#endif
}
