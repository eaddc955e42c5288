/* Language bindings (Python ctypes, JNI) load libtelltale with dlopen after start-up.
 * The library uses initial-exec TLS on its hot path, which glibc must then fit into the
 * little static TLS it keeps spare: this test loads it that way and logs through it. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <telltale/telltale.h>

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "dlopen failed: %s\n", dlerror());
        return 1;
    }
    const char *(*version)(void) = (const char *(*)(void))dlsym(h, "tt_version");
    tt_status (*open_fn)(tt_client **, const tt_options *) = (tt_status(*)(tt_client **, const tt_options *))dlsym(h, "tt_open");
    tt_status (*log_fn)(tt_client *, tt_level, const char *) = (tt_status(*)(tt_client *, tt_level, const char *))dlsym(h, "tt_log");
    tt_status (*close_fn)(tt_client *, uint32_t) = (tt_status(*)(tt_client *, uint32_t))dlsym(h, "tt_close");
    if (!version || !open_fn || !log_fn || !close_fn) return 1;
    tt_options o = TT_OPTIONS_INIT;
    o.db_path = argv[2];
    o.app_name = "dlopen";
    tt_client *c = NULL;
    if (open_fn(&c, &o) != TT_OK) return 1;
    if (log_fn(c, TT_INFO, "logged through a dlopen'ed library") != TT_OK) return 1;
    if (close_fn(c, 5000) != TT_OK) return 1;
    printf("dlopen'ed telltale %s and logged through it\n", version());
    return 0;
}
