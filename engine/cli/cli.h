/* cli.h - the verbs of the portcullis command. */
#ifndef PC_CLI_CLI_H
#define PC_CLI_CLI_H

int cmd_check(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_plugins(int argc, char **argv);

/* Loads plugins from dirs (or the default directory when n == 0),
 * printing refusals to stderr. Returns the number refused. */
int cli_load_plugins(char **dirs, int n, int quiet);
#endif
