/* cli.h - the verbs of the portcullis command. */
#ifndef PC_CLI_CLI_H
#define PC_CLI_CLI_H
#include <stddef.h>

int cmd_check(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_plugins(int argc, char **argv);
int cmd_cel(int argc, char **argv);
int cmd_probe(int argc, char **argv);

/* The whole of path ("-" = standard input), NUL-terminated; NULL with errno set. */
char *cli_read_file(const char *path, size_t *len);
/* v as a whole decimal number in [lo, hi]: 0 with *out, or -1 (trailing
 * text, overflow, out of range). */
int cli_number(const char *v, long long lo, long long hi, long long *out);

/* Loads plugins from dirs (or the default directory when n == 0),
 * printing refusals to stderr. Returns the number refused. */
int cli_load_plugins(char **dirs, int n, int quiet);

struct snapshot;
/* 0 (with a message on stderr) when a given path does not exist or no
 * AuthConfig was found: check and eval then exit 2. */
int cli_usable_paths(const char *cmd, const struct snapshot *s);
/* Adds the config hooks given as NAME:FILE (--config-hook), as serve does,
 * after the plugins are loaded. 0, or -1 once it has printed why, with
 * every hook removed again. */
int cli_add_hooks(const char *cmd, const char *const *specs, int n);
#endif
