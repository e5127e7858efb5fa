/* portcullis - an external authorization server for Envoy. */
#include <stdio.h>
#include <string.h>
#include "cli/cli.h"
#include <portcullis/abi.h>
#include "util/log.h"

#ifdef PORTCULLIS_JEMALLOC
/* jemalloc's settings, read at its start (MALLOC_CONF overrides them): a
 * background thread returns freed pages within about a second, so memory
 * held for a burst of clients goes back to the system as glibc's
 * malloc_trim does for the glibc build; 4 arenas as serve sets for glibc. */
const char *malloc_conf = "background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0,"
                          "narenas:4";
#endif

static void usage(FILE *f)
{
    fprintf(f,
            "usage: portcullis COMMAND [options]\n\n"
            "Commands:\n"
            "  serve     run the authorization server (also: server)\n"
            "  check     validate AuthConfig files and directories\n"
            "  eval      decide one CheckRequest (JSON) offline\n"
            "  plugins   list the loaded plugins and their evaluator types\n"
            "  cel       evaluate one CEL expression against a CheckRequest (JSON)\n"
            "  probe     GET a probe path (/healthz) from a running server: exit 0 on 200\n"
            "  version   print the version\n\n"
            "Run 'portcullis COMMAND --help' for a command's options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    /* Offline commands speak to people: plain text, only what matters. */
    plog_setup(PC_LOG_WARN, PLOG_TEXT);
    if (strcmp(cmd, "check") == 0)
        return cmd_check(argc - 1, argv + 1);
    if (strcmp(cmd, "eval") == 0)
        return cmd_eval(argc - 1, argv + 1);
    /* "server" is Authorino's name for it. Authorino's image runs
     * `authorino server` and its Deployments give only flags, so flags
     * alone (in this image: the args that replace CMD) mean serve too. */
    if (strcmp(cmd, "serve") == 0 || strcmp(cmd, "server") == 0)
        return cmd_serve(argc - 1, argv + 1);
    if (strncmp(cmd, "--", 2) == 0 && strcmp(cmd, "--help") != 0 &&
        strcmp(cmd, "--version") != 0)
        return cmd_serve(argc, argv);
    if (strcmp(cmd, "plugins") == 0)
        return cmd_plugins(argc - 1, argv + 1);
    if (strcmp(cmd, "cel") == 0)
        return cmd_cel(argc - 1, argv + 1);
    if (strcmp(cmd, "probe") == 0)
        return cmd_probe(argc - 1, argv + 1);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("portcullis %s (plugin ABI %d.%d)\n", PORTCULLIS_VERSION, PC_ABI_MAJOR,
               PC_ABI_MINOR);
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "portcullis: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
