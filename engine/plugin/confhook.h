/* confhook.h - the server's config hooks: plugin hook types named in the
 * server config (configHooks) or with --config-hook NAME:FILE, run over
 * each AuthConfig document before it is compiled (ac_compile). */
#ifndef PC_PLUGIN_CONFHOOK_H
#define PC_PLUGIN_CONFHOOK_H
#include <stddef.h>
#include <portcullis/host.h>

struct json_object;

/* Most hooks one server runs. */
#define CONFHOOK_MAX 8

/* Creates, with the services table `host`, the hook `name` (a loaded plugin's config hook type) from its
 * config, checked against the type's schema with defaults filled in.
 * Control thread, before any AuthConfig loads. 0, or -1 with a reason. */
int confhook_add(const pc_host *host, const char *name, struct json_object *config, char *err,
                 size_t errlen);
/* "NAME:FILE" (the --config-hook flag): confhook_add(host, NAME, {"file": FILE}). */
int confhook_add_spec(const pc_host *host, const char *spec, char *err, size_t errlen);
/* Number of hooks configured. */
size_t confhook_count(void);
/* Runs every hook over doc, in order. On 0, *out is a new reference to the
 * document to compile: doc itself when no hook changed it, else the last
 * rewrite, whose unchanged parts are doc's own nodes (so their lines still
 * point into the file) and whose keys keep doc's order. On -1 the
 * AuthConfig is rejected: reason names the hook and says why. */
int confhook_apply(struct json_object *doc, struct json_object **out,
                   char *reason, size_t len);
/* Destroys every hook (exit, tests). */
void confhook_reset(void);
#endif
