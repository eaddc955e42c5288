/* telltale.h must compile on its own, first, in strict C99 and in C++11. */
#include <telltale/telltale.h>

/* The INIT macros initialise every field (no -Wmissing-field-initializers). */
static const tt_options opts = TT_OPTIONS_INIT;
static const tt_stats stats = TT_STATS_INIT;

int main(void) {
    return (int)(opts.version + stats.version) - 2 + TT_OK;
}
