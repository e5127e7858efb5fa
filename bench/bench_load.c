/* bench_load - time to read, compile and index N AuthConfigs (default
 * 10,000), one file each, as a server does at start or on reload.
 * usage: bench_load [count] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "host/hostimpl.h"
#include "index/hostidx.h"
#include "plugin/loader.h"
#include "snapshot/snapshot.h"
#include "util/clock.h"
#include "util/log.h"

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 10000;
    plog_setup(PC_LOG_WARN, PLOG_TEXT);
    const char *dir = getenv("PC_PLUGIN_DIR");
    loader_load_dir(dir ? dir : loader_default_dir(), NULL, NULL);
    char root[] = "/tmp/bench-load-XXXXXX";
    if (!mkdtemp(root))
        return 2;
    for (long i = 0; i < n; i++) {
        char p[128];
        snprintf(p, sizeof p, "%s/ac-%05ld.yaml", root, i);
        FILE *f = fopen(p, "w");
        if (!f)
            return 2;
        fprintf(f,
                "apiVersion: authorino.kuadrant.io/v1beta3\nkind: AuthConfig\n"
                "metadata:\n  name: api-%ld\n  namespace: tenant-%ld\n"
                "spec:\n  hosts:\n  - api-%ld.example.com\n  - '*.api-%ld.example.net'\n"
                "  authentication:\n    anon:\n      anonymous: {}\n"
                "  authorization:\n    rules:\n      patternMatching:\n        patterns:\n"
                "        - selector: request.method\n          operator: eq\n          value: GET\n"
                "        - selector: request.path\n          operator: matches\n"
                "          value: ^/v1/\n",
                i, i % 100, i, i);
        fclose(f);
    }
    const char *paths[] = {root};
    int64_t t0 = clock_mono_ns();
    snapshot *s = snapshot_load(host_table(), paths, 1, NULL);
    int64_t t1 = clock_mono_ns();
    printf("%zu AuthConfigs (%zu hosts) loaded, compiled and indexed in %.3f s "
           "(%d errors)\n",
           s->n_configs, hostidx_count(s->idx), (double)(t1 - t0) / 1e9, s->errors);
    snapshot_unref(s);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    if (system(cmd) != 0)
        return 2;
    return 0;
}
