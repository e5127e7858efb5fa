/* metrics.h - Prometheus metrics with Authorino's names and labels
 * (auth_server_*), so its dashboards and alerts work unchanged.
 *
 * Recording a request or an evaluator run takes no lock: counts go to the
 * calling thread's own cells (metrics_cells.h) and a scrape adds them up. */
#ifndef PC_METRICS_METRICS_H
#define PC_METRICS_METRICS_H
#include <portcullis/plugin.h>

struct buf;

/* Plugin counters: portcullis_<name>; NULL for a name that is not a valid
 * metric name or that belongs to the host (cache_*, authconfigs). */
pc_counter *metrics_counter_new(const char *name, const char *help);
void metrics_counter_add(pc_counter *c, uint64_t n);
/* One finished authorization request (v->authconfig is "namespace/name"). */
void metrics_request(const pc_verdict *v, int64_t duration_ns);

/* Per-evaluator series (auth_server_evaluator_*), for evaluators with
 * `metrics: true` (or all, see metrics_set_deep). The same labels give the
 * same series across reloads; NULL past MCELL_MAX_SERIES series. */
typedef struct metrics_evseries metrics_evseries;
metrics_evseries *metrics_evaluator_series(const char *ns, const char *authconfig,
                                           pc_phase phase, const char *method,
                                           const char *name);
typedef enum { MEV_OK, MEV_DENIED, MEV_IGNORED, MEV_CANCELLED } metrics_ev_outcome;
void metrics_evaluator(metrics_evseries *s, metrics_ev_outcome o, int64_t duration_ns);
/* Authorino's evaluator_type of a method ("IDENTITY_APIKEY", ...); out
 * holds the name made for methods Authorino does not have. */
const char *metrics_evaluator_type(pc_phase phase, const char *method, char *out, size_t n);
/* --deep-metrics-enabled: every evaluator gets its series. */
void metrics_set_deep(int on);
int metrics_deep(void);

/* AuthConfigs currently loaded (gauge). */
void metrics_set_authconfigs(size_t n);
/* Adds a family renderer called on every scrape, after the built-in
 * families (the families it writes must be its own). At most 16. */
void metrics_add_collector(void (*render)(struct buf *b));
/* Appends s escaped as a label value. */
void metrics_label_escape(struct buf *b, const char *s);
/* Whole exposition text; caller frees. */
char *metrics_render(size_t *len);
/* Name of a google.rpc.Code ("OK", "UNAUTHENTICATED", ...). */
const char *metrics_code_name(int code);
#endif
