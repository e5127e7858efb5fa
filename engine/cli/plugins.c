#include <getopt.h>
#include <stdio.h>
#include "cli.h"
#include "host/hostimpl.h"
#include "plugin/confhook.h"
#include "plugin/loader.h"

static void print_refusal(void *arg, const char *msg)
{
    (void)arg;
    fprintf(stderr, "plugin refused: %s\n", msg);
}

int cli_load_plugins(char **dirs, int n, int quiet)
{
    int refused = 0;
    if (n == 0)
        return loader_load_dir(loader_default_dir(), quiet ? NULL : print_refusal, NULL);
    for (int i = 0; i < n; i++)
        refused += loader_load_dir(dirs[i], quiet ? NULL : print_refusal, NULL);
    return refused;
}

int cmd_plugins(int argc, char **argv)
{
    static const struct option opts[] = {
        {"plugin-dir", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    char *dirs[32];
    int nd = 0, c;
    while ((c = getopt_long(argc, argv, "p:h", opts, NULL)) != -1) {
        if (c == 'p' && nd < 32) {
            dirs[nd++] = optarg;
        } else {
            fprintf(c == 'h' ? stdout : stderr,
                    "usage: portcullis plugins [--plugin-dir DIR]...\n"
                    "Lists the evaluator types and config hooks of the loaded plugins.\n");
            return c == 'h' ? 0 : 2;
        }
    }
    int refused = cli_load_plugins(dirs, nd, 0);
    for (size_t i = 0; i < loader_count_types(); i++) {
        const loader_type *t = loader_type_at(i);
        printf("%-15s %-24s %s (%s)\n", loader_phase_name(t->t.phase), t->t.name,
               t->plugin_name, t->path);
    }
    for (size_t i = 0; i < loader_count_hooks(); i++) {
        const loader_hook *h = loader_hook_at(i);
        printf("%-15s %-24s %s (%s)\n", "configHooks", h->t.name, h->plugin_name, h->path);
    }
    return refused ? 1 : 0;
}

int cli_add_hooks(const char *cmd, const char *const *specs, int n)
{
    for (int i = 0; i < n; i++) {
        char err[600];
        if (confhook_add_spec(host_table(), specs[i], err, sizeof err) < 0) {
            fprintf(stderr, "portcullis %s: %s\n", cmd, err);
            confhook_reset();
            return -1;
        }
    }
    return 0;
}
