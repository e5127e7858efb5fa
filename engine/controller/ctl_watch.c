/* The informer loop. A watch that ends normally (the server's timeout) is
 * resumed from the last resourceVersion seen, events or bookmarks; one that
 * fails is resumed after a backoff, and a 410 (history compacted) starts over
 * with a list, as client-go's reflector does. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "kube/kube.h"
#include "util/buf.h"
#include "util/log.h"
#include "ctl_watch.h"

int64_t ctl_backoff_ms(unsigned step, double r)
{
    int64_t ms = 800;
    for (unsigned i = 0; i < step && ms < 30000; i++)
        ms *= 2;
    if (ms > 30000)
        ms = 30000;
    return ms + (int64_t)(ms * 0.1 * r);
}

static void sleep_ms(ctl_informer *inf, int64_t ms)
{
    while (ms > 0 && !atomic_load(inf->stop)) {
        int64_t step = ms < 50 ? ms : 50;
        struct timespec ts = {0, (long)step * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
}

static void add_selector(buf *url, const char *sel, char sep)
{
    if (!sel || !*sel)
        return;
    char *esc = curl_easy_escape(NULL, sel, 0);
    if (esc) {
        buf_printf(url, "%clabelSelector=%s", sep, esc);
        curl_free(esc);
    }
}

static const char *str_at(struct json_object *o, const char *k1, const char *k2)
{
    struct json_object *v = NULL;
    if (!json_object_object_get_ex(o, k1, &v))
        return NULL;
    if (k2 && !json_object_object_get_ex(v, k2, &v))
        return NULL;
    return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static struct json_object *parse(const char *p, size_t n)
{
    /* Config objects nest deeper than request input: a generous depth. */
    struct json_tokener *tok = json_tokener_new_ex(128);
    if (!tok)
        return NULL;
    struct json_object *o = json_tokener_parse_ex(tok, p, (int)n);
    if (o && tok->char_offset < (int)n) {
        for (size_t i = (size_t)tok->char_offset; i < n; i++)
            if (p[i] != ' ' && p[i] != '\n' && p[i] != '\r' && p[i] != '\t') {
                json_object_put(o);
                o = NULL;
                break;
            }
    }
    json_tokener_free(tok);
    return o;
}

/* One page of a list: its items appended to all, rv and the continue token
 * set. 0, or -1 after logging why. */
static int list_page(ctl_informer *inf, const char *cont, struct json_object *all,
                     char *rv, size_t rvlen, char *next, size_t nextlen)
{
    buf url, out;
    buf_init(&url);
    buf_init(&out);
    buf_printf(&url, "%s?limit=%d", inf->path, CTL_LIST_PAGE);
    if (cont && *cont) {
        char *esc = curl_easy_escape(NULL, cont, 0);
        buf_printf(&url, "&continue=%s", esc ? esc : "");
        curl_free(esc);
    }
    add_selector(&url, inf->label_selector, '&');
    long status = 0;
    char err[256] = "";
    int rc = -1;
    if (kube_call("GET", url.data, NULL, NULL, 0, 60000, inf->stop, &status, &out, err,
                  sizeof err) != PC_OK) {
        if (!atomic_load(inf->stop)) /* not the abandoned call at shutdown */
            plog(PC_LOG_WARN, "controller", "listing %s: %s", inf->what, err);
    } else if (status != 200) {
        plog(PC_LOG_WARN, "controller", "listing %s: HTTP %ld", inf->what, status);
    } else {
        struct json_object *doc = parse(out.data, out.len), *items = NULL;
        const char *v = doc ? str_at(doc, "metadata", "resourceVersion") : NULL;
        const char *c = doc ? str_at(doc, "metadata", "continue") : NULL;
        if (!doc || !v || !json_object_object_get_ex(doc, "items", &items) ||
            !json_object_is_type(items, json_type_array)) {
            plog(PC_LOG_WARN, "controller", "listing %s: not a list", inf->what);
        } else {
            snprintf(rv, rvlen, "%s", v);
            snprintf(next, nextlen, "%s", c ? c : "");
            for (size_t i = 0; i < json_object_array_length(items); i++)
                json_object_array_add(all, json_object_get(json_object_array_get_idx(items, i)));
            rc = 0;
        }
        json_object_put(doc);
    }
    buf_free(&url);
    buf_free(&out);
    return rc;
}

/* Lists the collection in pages (as client-go's pager does, so no response
 * grows with the cluster); on success hands the items over and sets rv. */
static int do_list(ctl_informer *inf, char *rv, size_t rvlen)
{
    struct json_object *all = json_object_new_array();
    char cont[1024] = "", next[1024];
    int rc;
    inf->lists++;
    while ((rc = list_page(inf, cont, all, rv, rvlen, next, sizeof next)) == 0 && *next)
        snprintf(cont, sizeof cont, "%s", next);
    if (rc == 0)
        inf->on_list(inf->arg, all);
    json_object_put(all);
    return rc;
}

typedef struct wctx {
    ctl_informer *inf;
    buf line;
    char *rv;
    size_t rvlen;
    int gone;        /* an ERROR event with 410 */
    int failed;      /* another ERROR event, or a bad line */
    int events;
} wctx;

static void on_line(wctx *w, const char *p, size_t n)
{
    if (!n)
        return;
    struct json_object *ev = parse(p, n), *obj = NULL;
    const char *type = ev ? str_at(ev, "type", NULL) : NULL;
    const char *kind = ev ? str_at(ev, "kind", NULL) : NULL;
    if (!type && kind && strcmp(kind, "Status") == 0) {
        /* An error answer instead of a stream (HTTP 4xx/5xx with a
         * metav1.Status body): say what the API server said. */
        struct json_object *code = NULL;
        json_object_object_get_ex(ev, "code", &code);
        const char *msg = str_at(ev, "message", NULL);
        plog(PC_LOG_WARN, "controller", "watching %s: HTTP %d: %s", w->inf->what,
             json_object_get_int(code), msg ? msg : "error");
        if (json_object_get_int(code) == 410)
            w->gone = 1;
        else
            w->failed = 1;
        json_object_put(ev);
        return;
    }
    if (!type || !json_object_object_get_ex(ev, "object", &obj) ||
        !json_object_is_type(obj, json_type_object)) {
        plog(PC_LOG_WARN, "controller", "watching %s: an event that is not one",
             w->inf->what);
        w->failed = 1;
        json_object_put(ev);
        return;
    }
    if (strcmp(type, "ERROR") == 0) {
        struct json_object *code = NULL;
        json_object_object_get_ex(obj, "code", &code);
        if (json_object_get_int(code) == 410) {
            w->gone = 1;
        } else {
            const char *msg = str_at(obj, "message", NULL);
            plog(PC_LOG_WARN, "controller", "watching %s: %s", w->inf->what,
                 msg ? msg : "error event");
            w->failed = 1;
        }
        json_object_put(ev);
        return;
    }
    const char *v = str_at(obj, "metadata", "resourceVersion");
    if (v)
        snprintf(w->rv, w->rvlen, "%s", v);
    if (strcmp(type, "ADDED") == 0 || strcmp(type, "MODIFIED") == 0 ||
        strcmp(type, "DELETED") == 0) {
        w->events++;
        w->inf->on_event(w->inf->arg, type, obj);
    }
    /* BOOKMARK: only the resourceVersion matters. */
    json_object_put(ev);
}

static size_t on_data(const char *p, size_t n, void *arg)
{
    wctx *w = arg;
    while (n) {
        const char *nl = memchr(p, '\n', n);
        size_t take = nl ? (size_t)(nl - p) : n;
        if (w->line.len + take > CTL_MAX_EVENT) {
            plog(PC_LOG_WARN, "controller", "watching %s: an event over %u MiB",
                 w->inf->what, CTL_MAX_EVENT >> 20);
            w->failed = 1;
            return 1;
        }
        if (buf_append(&w->line, p, take) < 0)
            return 1;
        if (!nl)
            break;
        on_line(w, w->line.data, w->line.len);
        buf_reset(&w->line);
        if (w->gone || w->failed)
            return 1;
        p = nl + 1;
        n -= take + 1;
    }
    return atomic_load(w->inf->stop) ? 1 : 0;
}

/* One watch: 0 when it ended normally, 1 on 410, -1 on an error. */
static int do_watch(ctl_informer *inf, char *rv, size_t rvlen, int *progressed)
{
    int64_t t = inf->watch_timeout_s > 0 ? inf->watch_timeout_s : 300;
    /* Jitter the server-side timeout so replicas do not rewatch together. */
    t += rand() % (t / 5 + 1);
    buf url;
    buf_init(&url);
    buf_printf(&url, "%s?watch=1&allowWatchBookmarks=true&resourceVersion=%s"
                     "&timeoutSeconds=%lld", inf->path, rv, (long long)t);
    add_selector(&url, inf->label_selector, '&');
    wctx w = {.inf = inf, .rv = rv, .rvlen = rvlen};
    buf_init(&w.line);
    long status = 0;
    char err[256] = "";
    inf->watches++;
    pc_status st = kube_stream(url.data, (t + 30) * 1000, inf->stop, &status, on_data, &w,
                               err, sizeof err);
    buf_free(&url);
    if (w.line.len && !w.gone && !w.failed)
        on_line(&w, w.line.data, w.line.len); /* an answer without a final newline */
    buf_free(&w.line);
    *progressed = w.events > 0;
    if (w.gone || status == 410)
        return 1;
    if (atomic_load(inf->stop))
        return 0;
    if (w.failed)
        return -1;
    if (st != PC_OK) {
        plog(PC_LOG_WARN, "controller", "watching %s: %s", inf->what, err);
        return -1;
    }
    if (status != 200) {
        plog(PC_LOG_WARN, "controller", "watching %s: HTTP %ld", inf->what, status);
        return -1;
    }
    return 0;
}

void ctl_informer_run(ctl_informer *inf)
{
    char rv[64] = "";
    int listed = 0;
    unsigned step = 0;
    while (!atomic_load(inf->stop)) {
        if (!listed) {
            if (do_list(inf, rv, sizeof rv) < 0) {
                inf->errors++;
                sleep_ms(inf, ctl_backoff_ms(step++, rand() / (RAND_MAX + 1.0)));
                continue;
            }
            listed = 1;
            step = 0;
        }
        int progressed = 0;
        int rc = do_watch(inf, rv, sizeof rv, &progressed);
        if (rc == 1) {
            plog(PC_LOG_INFO, "controller", "watching %s: resourceVersion %s is gone; "
                                            "listing again", inf->what, rv);
            inf->relists_gone++;
            listed = 0;
            continue;
        }
        if (rc < 0) {
            inf->errors++;
            if (progressed)
                step = 0;
            sleep_ms(inf, ctl_backoff_ms(step++, rand() / (RAND_MAX + 1.0)));
            continue;
        }
        step = 0;
    }
}
