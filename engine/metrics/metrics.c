/* metrics.c - the series registry and the exposition.
 *
 * Series are registered once (an AuthConfig's on its first request, an
 * evaluator's when its AuthConfig compiles) under g_mu; after that a
 * request only reads its thread's own lookup table and writes its own
 * cells. Scrapes take g_mu to walk the registry. Each family is written
 * exactly once, HELP and TYPE first, as the text format requires. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "metrics.h"
#include "metrics_cells.h"
#include "metrics_process.h"
#include "util/buf.h"
#include "util/thread_exit.h"

#define NCODES 17
#define GLOBAL_ID 0           /* auth_server_response_status */
#define REG_BUCKETS 1024

_Static_assert(NCODES <= MCELL_NCOUNTS, "a count per code");

struct pc_counter {
    char *name, *help;
    atomic_uint_fast64_t value;
    struct pc_counter *next;
};

/* An AuthConfig's series, keyed by the verdict's "namespace/name". */
typedef struct acseries {
    char *key;
    size_t len;
    char *labels;             /* namespace="...",authconfig="..." */
    uint32_t id;
    struct acseries *hnext, *next;
} acseries;

struct metrics_evseries {
    char *labels;             /* namespace, authconfig, evaluator_type, evaluator_name */
    uint32_t id;
    struct metrics_evseries *next;
};

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static uint32_t g_next_id = GLOBAL_ID + 1;
static acseries *g_ac_index[REG_BUCKETS];
static acseries *g_ac_list, **g_ac_tail = &g_ac_list;
static metrics_evseries *g_ev_list, **g_ev_tail = &g_ev_list;
static pc_counter *g_counters;
static atomic_size_t g_authconfigs;
static atomic_int g_deep;

#define MAX_COLLECTORS 16
static void (*g_collectors[MAX_COLLECTORS])(buf *b);
static int g_ncollectors;

static const char *const code_names[NCODES] = {
    "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
    "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"};

const char *metrics_code_name(int code)
{
    return code >= 0 && code < NCODES ? code_names[code] : "UNKNOWN";
}

void metrics_label_escape(buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '\n') {
            buf_puts(b, "\\n");
            continue;
        }
        if (*s == '"' || *s == '\\')
            buf_putc(b, '\\');
        buf_putc(b, *s);
    }
}

/* ---- plugin counters ---- */

static int valid_name(const char *n)
{
    if (!n || !*n || (*n >= '0' && *n <= '9') || strlen(n) > 200)
        return 0;
    for (const char *p = n; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || *p == '_' || *p == ':'))
            return 0;
    /* The host's own families. */
    return strncmp(n, "cache_", 6) != 0 && strcmp(n, "authconfigs") != 0;
}

pc_counter *metrics_counter_new(const char *name, const char *help)
{
    if (!valid_name(name))
        return NULL;
    pthread_mutex_lock(&g_mu);
    for (pc_counter *c = g_counters; c; c = c->next)
        if (strcmp(c->name, name) == 0) {
            pthread_mutex_unlock(&g_mu);
            return c;
        }
    pc_counter *c = calloc(1, sizeof *c);
    if (c) {
        c->name = strdup(name);
        c->help = strdup(help ? help : name);
        if (!c->name || !c->help) {
            free(c->name);
            free(c->help);
            free(c);
            c = NULL;
        } else {
            c->next = g_counters;
            g_counters = c;
        }
    }
    pthread_mutex_unlock(&g_mu);
    return c;
}

void metrics_counter_add(pc_counter *c, uint64_t n)
{
    if (c)
        atomic_fetch_add_explicit(&c->value, n, memory_order_relaxed);
}

/* ---- AuthConfig series ---- */

static uint32_t hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static uint32_t take_id(void)
{
    return g_next_id < MCELL_MAX_SERIES ? g_next_id++ : 0;
}

static char *ac_labels(const char *key, size_t len)
{
    const char *slash = memchr(key, '/', len);
    char *ns = strndup(key, slash ? (size_t)(slash - key) : 0);
    char *name = slash ? strndup(slash + 1, len - (size_t)(slash - key) - 1)
                       : strndup(key, len);
    buf b;
    buf_init(&b);
    if (ns && name) {
        buf_puts(&b, "namespace=\"");
        metrics_label_escape(&b, ns);
        buf_puts(&b, "\",authconfig=\"");
        metrics_label_escape(&b, name);
        buf_putc(&b, '"');
    }
    free(ns);
    free(name);
    return b.len ? buf_steal(&b) : (buf_free(&b), NULL);
}

/* The registry's series of an AuthConfig, made on first sight (NULL past
 * the series limit). It never changes or goes away once made. */
static acseries *ac_register(const char *key, size_t len, uint32_t h)
{
    pthread_mutex_lock(&g_mu);
    acseries *s = g_ac_index[h % REG_BUCKETS];
    while (s && (s->len != len || memcmp(s->key, key, len) != 0))
        s = s->hnext;
    if (!s && (s = calloc(1, sizeof *s))) {
        s->key = strndup(key, len);
        s->len = len;
        s->labels = ac_labels(key, len);
        s->id = s->key && s->labels ? take_id() : 0;
        if (!s->id) {
            free(s->key);
            free(s->labels);
            free(s);
            s = NULL;
        } else {
            s->hnext = g_ac_index[h % REG_BUCKETS];
            g_ac_index[h % REG_BUCKETS] = s;
            *g_ac_tail = s;
            g_ac_tail = &s->next;
        }
    }
    pthread_mutex_unlock(&g_mu);
    return s;
}

/* Each thread's own map from AuthConfig key to id (open addressing). The
 * keys point into the registry, which never frees them. */
typedef struct tl_slot {
    const char *key;
    size_t len;
    uint32_t id;
} tl_slot;

typedef struct tl_map {
    tl_slot *slot;
    size_t cap, n;
} tl_map;

static _Thread_local tl_map t_map;

static void tl_free(void *p)
{
    tl_map *m = p;
    free(m->slot);
    memset(m, 0, sizeof *m);
}

static int tl_insert(tl_map *m, const char *key, size_t len, uint32_t h, uint32_t id)
{
    if ((m->n + 1) * 2 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        tl_slot *ns = calloc(cap, sizeof *ns);
        if (!ns)
            return -1;
        if (!m->slot)
            (void)thread_at_exit(tl_free, m);
        for (size_t i = 0; i < m->cap; i++)
            if (m->slot[i].key) {
                size_t j = hash(m->slot[i].key, m->slot[i].len) & (cap - 1);
                while (ns[j].key)
                    j = (j + 1) & (cap - 1);
                ns[j] = m->slot[i];
            }
        free(m->slot);
        m->slot = ns;
        m->cap = cap;
    }
    size_t j = h & (m->cap - 1);
    while (m->slot[j].key)
        j = (j + 1) & (m->cap - 1);
    m->slot[j] = (tl_slot){key, len, id};
    m->n++;
    return 0;
}

static uint32_t ac_id(const char *key, size_t len)
{
    uint32_t h = hash(key, len);
    tl_map *m = &t_map;
    if (m->cap)
        for (size_t j = h & (m->cap - 1); m->slot[j].key; j = (j + 1) & (m->cap - 1))
            if (m->slot[j].len == len && memcmp(m->slot[j].key, key, len) == 0)
                return m->slot[j].id;
    acseries *s = ac_register(key, len, h);
    if (!s)
        return 0;
    tl_insert(m, s->key, len, h, s->id);
    return s->id;
}

void metrics_request(const pc_verdict *v, int64_t duration_ns)
{
    int code = v->grpc_code >= 0 && v->grpc_code < NCODES ? v->grpc_code : 2;
    mcell *g = mcell_mine(GLOBAL_ID);
    if (g)
        mcell_add(&g->n[code], 1);
    if (!v->authconfig.len)
        return;
    uint32_t id = ac_id(v->authconfig.ptr, v->authconfig.len);
    mcell *c = id ? mcell_mine(id) : NULL;
    if (c) {
        mcell_add(&c->n[code], 1);
        mcell_observe(c, duration_ns);
    }
}

/* ---- evaluator series ---- */

enum { EV_TOTAL, EV_DENIED, EV_IGNORED, EV_CANCELLED };

void metrics_set_deep(int on)
{
    atomic_store(&g_deep, on != 0);
}

int metrics_deep(void)
{
    return atomic_load(&g_deep);
}

metrics_evseries *metrics_evaluator_series(const char *ns, const char *authconfig,
                                           pc_phase phase, const char *method,
                                           const char *name)
{
    char tbuf[128];
    buf b;
    buf_init(&b);
    buf_puts(&b, "namespace=\"");
    metrics_label_escape(&b, ns ? ns : "");
    buf_puts(&b, "\",authconfig=\"");
    metrics_label_escape(&b, authconfig ? authconfig : "");
    buf_puts(&b, "\",evaluator_type=\"");
    metrics_label_escape(&b, metrics_evaluator_type(phase, method, tbuf, sizeof tbuf));
    buf_puts(&b, "\",evaluator_name=\"");
    metrics_label_escape(&b, name ? name : "");
    buf_puts(&b, "\"");
    if (!b.data) {
        buf_free(&b);
        return NULL;
    }
    pthread_mutex_lock(&g_mu);
    metrics_evseries *s = g_ev_list;
    while (s && strcmp(s->labels, b.data))
        s = s->next;
    if (!s && (s = calloc(1, sizeof *s))) {
        if (!(s->id = take_id())) {
            free(s);
            s = NULL;
        } else {
            s->labels = buf_steal(&b);
            *g_ev_tail = s;
            g_ev_tail = &s->next;
        }
    }
    pthread_mutex_unlock(&g_mu);
    buf_free(&b);
    return s;
}

void metrics_evaluator(metrics_evseries *s, metrics_ev_outcome o, int64_t ns)
{
    mcell *c = s ? mcell_mine(s->id) : NULL;
    if (!c)
        return;
    mcell_add(&c->n[EV_TOTAL], 1);
    if (o == MEV_DENIED)
        mcell_add(&c->n[EV_DENIED], 1);
    else if (o == MEV_IGNORED)
        mcell_add(&c->n[EV_IGNORED], 1);
    else if (o == MEV_CANCELLED)
        mcell_add(&c->n[EV_CANCELLED], 1);
    /* As Authorino: skipped evaluators are counted but not timed. */
    if (o != MEV_IGNORED)
        mcell_observe(c, ns);
}

void metrics_set_authconfigs(size_t n)
{
    atomic_store(&g_authconfigs, n);
}

void metrics_add_collector(void (*render)(buf *b))
{
    pthread_mutex_lock(&g_mu);
    if (g_ncollectors < MAX_COLLECTORS)
        g_collectors[g_ncollectors++] = render;
    pthread_mutex_unlock(&g_mu);
}

/* ---- exposition ---- */

static void family(buf *b, const char *name, const char *type, const char *help)
{
    buf_printf(b, "# HELP %s ", name);
    for (const char *h = help; *h; h++) {
        if (*h == '\\')
            buf_puts(b, "\\\\");
        else if (*h == '\n')
            buf_puts(b, "\\n");
        else
            buf_putc(b, *h);
    }
    buf_printf(b, "\n# TYPE %s %s\n", name, type);
}

static void histogram(buf *b, const char *name, const char *labels, const mcell_sum *s)
{
    uint64_t cum = 0;
    for (int i = 0; i < MCELL_NBUCKETS; i++) {
        cum += s->bucket[i];
        buf_printf(b, "%s_bucket{%s,le=\"%g\"} %llu\n", name, labels, mcell_bucket_le[i],
                   (unsigned long long)cum);
    }
    cum += s->bucket[MCELL_NBUCKETS];
    buf_printf(b, "%s_bucket{%s,le=\"+Inf\"} %llu\n", name, labels, (unsigned long long)cum);
    buf_printf(b, "%s_sum{%s} %.9f\n", name, labels, (double)s->sum_ns / 1e9);
    buf_printf(b, "%s_count{%s} %llu\n", name, labels, (unsigned long long)cum);
}

static uint64_t total_of(const mcell_sum *s)
{
    uint64_t t = 0;
    for (int c = 0; c < NCODES; c++)
        t += s->n[c];
    return t;
}

static void render_authconfigs(buf *b)
{
    size_t n = 0;
    for (acseries *s = g_ac_list; s; s = s->next)
        n++;
    mcell_sum *sums = calloc(n ? n : 1, sizeof *sums);
    if (!sums)
        return;
    size_t i = 0;
    for (acseries *s = g_ac_list; s; s = s->next)
        mcell_sum_of(s->id, &sums[i++]);
    family(b, "auth_server_authconfig_total", "counter",
           "Total number of authconfigs enforced by the auth server, partitioned by authconfig.");
    i = 0;
    for (acseries *s = g_ac_list; s; s = s->next, i++)
        buf_printf(b, "auth_server_authconfig_total{%s} %llu\n", s->labels,
                   (unsigned long long)total_of(&sums[i]));
    family(b, "auth_server_authconfig_response_status", "counter",
           "Response status of authconfigs sent by the auth server, partitioned by authconfig.");
    i = 0;
    for (acseries *s = g_ac_list; s; s = s->next, i++)
        for (int c = 0; c < NCODES; c++)
            if (sums[i].n[c])
                buf_printf(b, "auth_server_authconfig_response_status{%s,status=\"%s\"} %llu\n",
                           s->labels, code_names[c], (unsigned long long)sums[i].n[c]);
    family(b, "auth_server_authconfig_duration_seconds", "histogram",
           "Response latency of authconfig enforced by the auth server (in seconds).");
    i = 0;
    for (acseries *s = g_ac_list; s; s = s->next, i++)
        histogram(b, "auth_server_authconfig_duration_seconds", s->labels, &sums[i]);
    free(sums);
}

static void render_evaluators(buf *b)
{
    static const struct { const char *name, *help; } fam[] = {
        {"auth_server_evaluator_total",
         "Total number of evaluations of individual authconfig rule performed by the auth server."},
        {"auth_server_evaluator_denied",
         "Number of denials from individual authconfig rule evaluated by the auth server."},
        {"auth_server_evaluator_ignored",
         "Number of evaluations of individual authconfig rule ignored by the auth server."},
        {"auth_server_evaluator_cancelled",
         "Number of evaluations of individual authconfig rule cancelled by the auth server."}};
    size_t n = 0;
    for (metrics_evseries *s = g_ev_list; s; s = s->next)
        n++;
    if (!n)
        return;
    mcell_sum *sums = calloc(n, sizeof *sums);
    if (!sums)
        return;
    size_t i = 0;
    for (metrics_evseries *s = g_ev_list; s; s = s->next)
        mcell_sum_of(s->id, &sums[i++]);
    for (int k = 0; k < 4; k++) {
        family(b, fam[k].name, "counter", fam[k].help);
        i = 0;
        for (metrics_evseries *s = g_ev_list; s; s = s->next, i++)
            buf_printf(b, "%s{%s} %llu\n", fam[k].name, s->labels,
                       (unsigned long long)sums[i].n[k]);
    }
    family(b, "auth_server_evaluator_duration_seconds", "histogram",
           "Response latency of individual authconfig rule evaluated by the auth server "
           "(in seconds).");
    i = 0;
    for (metrics_evseries *s = g_ev_list; s; s = s->next, i++)
        histogram(b, "auth_server_evaluator_duration_seconds", s->labels, &sums[i]);
    free(sums);
}

char *metrics_render(size_t *len)
{
    buf b;
    buf_init(&b);
    pthread_mutex_lock(&g_mu);
    family(&b, "portcullis_authconfigs", "gauge", "AuthConfigs currently loaded.");
    buf_printf(&b, "portcullis_authconfigs %zu\n", atomic_load(&g_authconfigs));
    mcell_sum g;
    mcell_sum_of(GLOBAL_ID, &g);
    family(&b, "auth_server_response_status", "counter",
           "Response status of authconfigs sent by the auth server.");
    for (int c = 0; c < NCODES; c++)
        if (g.n[c])
            buf_printf(&b, "auth_server_response_status{status=\"%s\"} %llu\n",
                       code_names[c], (unsigned long long)g.n[c]);
    render_authconfigs(&b);
    render_evaluators(&b);
    for (pc_counter *c = g_counters; c; c = c->next) {
        char name[256];
        snprintf(name, sizeof name, "portcullis_%s", c->name);
        family(&b, name, "counter", c->help);
        buf_printf(&b, "%s %llu\n", name, (unsigned long long)atomic_load(&c->value));
    }
    int nc = g_ncollectors;
    void (*coll[MAX_COLLECTORS])(buf *);
    memcpy(coll, g_collectors, sizeof coll);
    pthread_mutex_unlock(&g_mu);
    /* Collectors take their own locks; none of them under ours. */
    for (int i = 0; i < nc; i++)
        coll[i](&b);
    metrics_process_render(&b);
    if (len)
        *len = b.len;
    return buf_steal(&b);
}
