/* metrics.h - Prometheus counters and histograms, with Authorino's metric
 * names where they exist (auth_server_*). */
#ifndef PC_METRICS_METRICS_H
#define PC_METRICS_METRICS_H
#include <portcullis/host.h>

/* Plugin counters: portcullis_<name>. */
pc_counter *metrics_counter_new(const char *name, const char *help);
void metrics_counter_add(pc_counter *c, uint64_t n);
/* One finished authorization request. */
void metrics_request(const pc_verdict *v, int64_t duration_ns);
/* Per-evaluator series (auth_server_evaluator_*), for evaluators with
 * `metrics: true`. The same labels give the same series across reloads. */
typedef struct metrics_evseries metrics_evseries;
metrics_evseries *metrics_evaluator_series(const char *ns, const char *authconfig,
                                           const char *type, const char *name);
typedef enum { MEV_OK, MEV_DENIED, MEV_IGNORED, MEV_CANCELLED } metrics_ev_outcome;
void metrics_evaluator(metrics_evseries *s, metrics_ev_outcome o, int64_t duration_ns);
/* AuthConfigs currently loaded (gauge). */
void metrics_set_authconfigs(size_t n);
/* Adds a family renderer called on every scrape, after the built-in
 * families (the families it writes must be its own). At most 16. */
struct buf;
void metrics_add_collector(void (*render)(struct buf *b));
/* Appends s escaped as a label value. */
void metrics_label_escape(struct buf *b, const char *s);
/* Whole exposition text; caller frees. */
char *metrics_render(size_t *len);
/* Name of a google.rpc.Code ("OK", "UNAUTHENTICATED", ...). */
const char *metrics_code_name(int code);
#endif
