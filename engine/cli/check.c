/* portcullis check PATH... : validates AuthConfigs, listing every problem. */
#include <getopt.h>
#include <stdio.h>
#include "cli.h"
#include "config/cfgerr.h"
#include "host/hostimpl.h"
#include "plugin/confhook.h"
#include "plugin/loader.h"
#include "snapshot/snapshot.h"


static void usage(FILE *f)
{
    fprintf(f,
            "usage: portcullis check [--plugin-dir DIR]... [--config-hook NAME:FILE]... PATH...\n"
            "Validates the AuthConfigs in the given files and directories (.yaml,\n"
            ".yml, .json; multi-document YAML) and lists every error with its file,\n"
            "line and path. `kind: List` documents (kubectl get -o yaml) are read\n"
            "as their items. Exits 2 when a path does not exist or the paths hold\n"
            "no AuthConfig, 1 if there was any other error, 0 otherwise.\n\n"
            "  -p, --plugin-dir DIR  load plugins from DIR (repeatable; default: the\n"
            "                        installed plugin directory)\n"
            "  --config-hook NAME:FILE\n"
            "                        run each AuthConfig through a config hook first,\n"
            "                        as serve does (repeatable), e.g. lua:hooks.lua\n"
            "  -q, --quiet           print only errors and warnings\n"
            "  -h, --help            show this help\n");
}

int cli_usable_paths(const char *cmd, const snapshot *s)
{
    if (s->missing) {
        fprintf(stderr, "portcullis %s: %d of the given paths do%s not exist\n", cmd,
                s->missing, s->missing == 1 ? "es" : "");
        return 0;
    }
    if (s->authconfig_docs == 0) {
        fprintf(stderr, "portcullis %s: no AuthConfig in the given paths (%d file%s read)\n",
                cmd, s->files, s->files == 1 ? "" : "s");
        return 0;
    }
    return 1;
}

int cmd_check(int argc, char **argv)
{
    static const struct option opts[] = {
        {"plugin-dir", required_argument, NULL, 'p'},
        {"quiet", no_argument, NULL, 'q'},
        {"config-hook", required_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    char *dirs[32];
    const char *hooks[CONFHOOK_MAX + 1];
    int nd = 0, nh = 0, quiet = 0, c;
    while ((c = getopt_long(argc, argv, "p:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            if (nd < 32)
                dirs[nd++] = optarg;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'k':
            if (nh < CONFHOOK_MAX + 1)
                hooks[nh++] = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return 2;
    }
    int refused = cli_load_plugins(dirs, nd, 0);
    if (cli_add_hooks("check", hooks, nh) < 0) {
        loader_reset();
        return 2;
    }
    snapshot_sink sink = {cfgerr_print_error, cfgerr_print_warning, NULL};
    snapshot *s = snapshot_load(host_table(), (const char *const *)argv + optind,
                                (size_t)(argc - optind), &sink);
    if (!s) {
        confhook_reset();
        return 2;
    }
    int errors = s->errors + refused;
    if (!quiet)
        printf("%zu AuthConfig%s loaded from %d file%s: %d error%s, %d warning%s\n",
               s->n_configs, s->n_configs == 1 ? "" : "s", s->files,
               s->files == 1 ? "" : "s", errors, errors == 1 ? "" : "s",
               s->warnings, s->warnings == 1 ? "" : "s");
    int usable = cli_usable_paths("check", s);
    snapshot_unref(s);
    confhook_reset();
    loader_reset();
    return !usable ? 2 : errors ? 1 : 0;
}
