#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <openssl/rand.h>
#include "kube/kube.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/log.h"
#include "ctl_lease.h"

void ctl_lease_init(ctl_lease *l, const char *ns, const char *name, atomic_int *stop)
{
    memset(l, 0, sizeof *l);
    l->ns = ns;
    l->name = name;
    l->stop = stop;
    l->duration_ms = 15000;
    l->retry_ms = 2000;
    atomic_init(&l->leader, 0);
    char host[64] = "portcullis";
    gethostname(host, sizeof host - 1);
    unsigned char r[8] = {0};
    RAND_bytes(r, sizeof r);
    snprintf(l->identity, sizeof l->identity, "%s_%02x%02x%02x%02x%02x%02x%02x%02x", host,
             r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
}

/* metav1.MicroTime: 2006-01-02T15:04:05.000000Z */
static void micro_now(char *out, size_t len)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, len, "%s.%06ldZ", base, (long)tv.tv_usec);
}

static const char *spec_str(struct json_object *lease, const char *k)
{
    struct json_object *spec = NULL, *v = NULL;
    json_object_object_get_ex(lease, "spec", &spec);
    return json_object_object_get_ex(spec, k, &v) && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v) : "";
}

static int spec_int(struct json_object *lease, const char *k)
{
    struct json_object *spec = NULL, *v = NULL;
    json_object_object_get_ex(lease, "spec", &spec);
    return json_object_object_get_ex(spec, k, &v) ? json_object_get_int(v) : 0;
}

/* Writes the Lease (create when rv is NULL) with us, or nobody, as holder. */
static long write_lease(ctl_lease *l, const char *rv, int transitions, const char *acquired,
                        int release)
{
    char now[40];
    micro_now(now, sizeof now);
    struct json_object *o = json_object_new_object(), *meta = json_object_new_object(),
                       *spec = json_object_new_object();
    json_object_object_add(o, "apiVersion", json_object_new_string("coordination.k8s.io/v1"));
    json_object_object_add(o, "kind", json_object_new_string("Lease"));
    json_object_object_add(meta, "name", json_object_new_string(l->name));
    json_object_object_add(meta, "namespace", json_object_new_string(l->ns));
    if (rv)
        json_object_object_add(meta, "resourceVersion", json_object_new_string(rv));
    json_object_object_add(o, "metadata", meta);
    json_object_object_add(spec, "holderIdentity", json_object_new_string(release ? "" : l->identity));
    json_object_object_add(spec, "leaseDurationSeconds",
                           json_object_new_int(release ? 1 : (int)(l->duration_ms / 1000)));
    json_object_object_add(spec, "acquireTime", json_object_new_string(acquired ? acquired : now));
    json_object_object_add(spec, "renewTime", json_object_new_string(now));
    json_object_object_add(spec, "leaseTransitions", json_object_new_int(transitions));
    json_object_object_add(o, "spec", spec);
    const char *body = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    buf path, out;
    buf_init(&path);
    buf_init(&out);
    if (rv)
        buf_printf(&path, "/apis/coordination.k8s.io/v1/namespaces/%s/leases/%s", l->ns, l->name);
    else
        buf_printf(&path, "/apis/coordination.k8s.io/v1/namespaces/%s/leases", l->ns);
    long code = 0;
    char err[256];
    /* The release runs after stop, on a short budget of its own. */
    if (kube_call(rv ? "PUT" : "POST", path.data, NULL, body, strlen(body),
                  release ? CTL_LEASE_RELEASE_MS : l->retry_ms, release ? NULL : l->stop,
                  &code, &out, err, sizeof err) != PC_OK)
        code = 0;
    json_object_put(o);
    buf_free(&path);
    buf_free(&out);
    return code;
}

static void set_leader(ctl_lease *l, int on)
{
    if (atomic_exchange(&l->leader, on) == on)
        return;
    plog(PC_LOG_INFO, "controller", "%s leader (lease %s/%s, identity %s)",
         on ? "became" : "no longer", l->ns, l->name, l->identity);
    if (l->on_change)
        l->on_change(l->arg, on);
}

static void sleep_ms(ctl_lease *l, int64_t ms)
{
    while (ms > 0 && !atomic_load(l->stop)) {
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
        ms -= 50;
    }
}

void ctl_lease_run(ctl_lease *l)
{
    char seen[256] = "";   /* holder + renewTime last observed */
    int64_t seen_at = 0, renewed_at = 0;
    char path[512];
    snprintf(path, sizeof path, "/apis/coordination.k8s.io/v1/namespaces/%s/leases/%s",
             l->ns, l->name);
    while (!atomic_load(l->stop)) {
        int64_t now = clock_mono_ns() / 1000000;
        buf out;
        buf_init(&out);
        long code = 0;
        char err[256];
        int ok = 0;
        if (kube_call("GET", path, NULL, NULL, 0, l->retry_ms, l->stop, &code, &out, err,
                      sizeof err) == PC_OK) {
            if (code == 404) {
                ok = write_lease(l, NULL, 0, NULL, 0) == 201;
            } else if (code == 200) {
                struct json_object *lease = json_tokener_parse(out.data), *meta = NULL, *rv = NULL;
                json_object_object_get_ex(lease, "metadata", &meta);
                json_object_object_get_ex(meta, "resourceVersion", &rv);
                const char *holder = spec_str(lease, "holderIdentity");
                char rec[256];
                snprintf(rec, sizeof rec, "%s|%s", holder, spec_str(lease, "renewTime"));
                if (strcmp(rec, seen)) {
                    snprintf(seen, sizeof seen, "%s", rec);
                    seen_at = now;
                }
                int mine = strcmp(holder, l->identity) == 0;
                int64_t dur = spec_int(lease, "leaseDurationSeconds") * 1000LL;
                if (dur <= 0)
                    dur = l->duration_ms;
                int expired = !*holder || now - seen_at > dur;
                if (rv && (mine || expired)) {
                    int trans = spec_int(lease, "leaseTransitions") + (mine ? 0 : 1);
                    const char *acq = mine ? spec_str(lease, "acquireTime") : NULL;
                    ok = write_lease(l, json_object_get_string(rv), trans, acq, 0) == 200;
                }
                json_object_put(lease);
            }
        }
        buf_free(&out);
        if (ok) {
            renewed_at = now;
            set_leader(l, 1);
        } else if (atomic_load(&l->leader) && now - renewed_at > l->duration_ms) {
            set_leader(l, 0);
        } else if (!atomic_load(&l->leader)) {
            set_leader(l, 0);
        }
        sleep_ms(l, l->retry_ms);
    }
    if (atomic_load(&l->leader)) {
        /* Hand over at once instead of making the others wait out the lease. */
        buf out;
        buf_init(&out);
        long code = 0;
        char err[256];
        if (kube_call("GET", path, NULL, NULL, 0, CTL_LEASE_RELEASE_MS, NULL, &code, &out, err,
                      sizeof err) == PC_OK &&
            code == 200) {
            struct json_object *lease = json_tokener_parse(out.data), *meta = NULL, *rv = NULL;
            json_object_object_get_ex(lease, "metadata", &meta);
            json_object_object_get_ex(meta, "resourceVersion", &rv);
            if (rv && strcmp(spec_str(lease, "holderIdentity"), l->identity) == 0)
                write_lease(l, json_object_get_string(rv), spec_int(lease, "leaseTransitions"),
                            NULL, 1);
            json_object_put(lease);
        }
        buf_free(&out);
        set_leader(l, 0);
    }
}
