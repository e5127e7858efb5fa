/* fileset.c - the file-mode AuthConfig set (see fileset.h). Each file keeps
 * what it yielded last time: its compiled AuthConfigs (with the document
 * each came from, to compile again when Secrets change) and its Secrets. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "config/cfgerr.h"
#include "ydoc/ydoc.h"
#include "util/strmap.h"
#include "fileset.h"

typedef struct fs_ac {
    ac_config *c;             /* a reference */
    struct json_object *doc;  /* what c was compiled from (a reference) */
    int uses_secrets;
} fs_ac;

typedef struct fs_file {
    char *path;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime, ctime;
    fs_ac *acs;
    size_t n_acs;
    struct json_object **secrets;
    size_t n_secrets;
    int ac_docs;              /* AuthConfig documents, broken ones included */
} fs_file;

struct fileset {
    const pc_host *host;      /* evaluators are created with it */
    char **paths;
    size_t n_paths;
    fs_file **files;          /* sorted by path, as ydoc_walk gives them */
    size_t n_files;
};

/* One reload. */
typedef struct rl {
    fileset *fs;
    const snapshot_sink *sink;
    int errors, warnings;
    int full;
    strmap *old_by_path;      /* path -> fs_file of the previous state */
    strmap *old_by_id;        /* id -> fs_ac of the previous state */
    fs_file **nf;             /* the new state being built */
    size_t n_nf, cap_nf;
    ydoc_file **parsed;       /* parallel to nf: NULL when kept */
    fs_file **retired;        /* previous states, freed at the end */
    size_t n_retired;
    int secrets_changed;
    int changed;
    resset res;
} rl;

static void on_err(void *arg, const char *line)
{
    rl *r = arg;
    r->errors++;
    if (r->sink && r->sink->on_error)
        r->sink->on_error(r->sink->arg, line);
}

static void on_warn(void *arg, const char *line)
{
    rl *r = arg;
    r->warnings++;
    if (r->sink && r->sink->on_warning)
        r->sink->on_warning(r->sink->arg, line);
}

static void file_clear(fs_file *f)
{
    for (size_t i = 0; i < f->n_acs; i++) {
        ac_free(f->acs[i].c);
        json_object_put(f->acs[i].doc);
    }
    free(f->acs);
    f->acs = NULL;
    f->n_acs = 0;
    for (size_t i = 0; i < f->n_secrets; i++)
        json_object_put(f->secrets[i]);
    free(f->secrets);
    f->secrets = NULL;
    f->n_secrets = 0;
    f->ac_docs = 0;
}

static void file_free(void *p)
{
    fs_file *f = p;
    if (!f)
        return;
    file_clear(f);
    free(f->path);
    free(f);
}

fileset *fileset_new(const pc_host *host, const char *const *paths, size_t n)
{
    fileset *fs = calloc(1, sizeof *fs);
    if (!fs || !(fs->paths = calloc(n + 1, sizeof *fs->paths))) {
        free(fs);
        return NULL;
    }
    fs->host = host;
    for (size_t i = 0; i < n; i++)
        if (paths[i] && !(fs->paths[fs->n_paths++] = strdup(paths[i]))) {
            fileset_free(fs);
            return NULL;
        }
    return fs;
}

void fileset_free(fileset *fs)
{
    if (!fs)
        return;
    for (size_t i = 0; i < fs->n_paths; i++)
        free(fs->paths[i]);
    free(fs->paths);
    for (size_t i = 0; i < fs->n_files; i++)
        file_free(fs->files[i]);
    free(fs->files);
    free(fs);
}

static int same_stat(const fs_file *f, const struct stat *st)
{
    return f->dev == st->st_dev && f->ino == st->st_ino && f->size == st->st_size &&
           f->mtime.tv_sec == st->st_mtim.tv_sec && f->mtime.tv_nsec == st->st_mtim.tv_nsec &&
           f->ctime.tv_sec == st->st_ctim.tv_sec && f->ctime.tv_nsec == st->st_ctim.tv_nsec;
}

static void set_stat(fs_file *f, const struct stat *st)
{
    f->dev = st->st_dev;
    f->ino = st->st_ino;
    f->size = st->st_size;
    f->mtime = st->st_mtim;
    f->ctime = st->st_ctim;
}

static int push(rl *r, fs_file *f, ydoc_file *parsed)
{
    if (r->n_nf == r->cap_nf) {
        size_t cap = r->cap_nf ? r->cap_nf * 2 : 16;
        fs_file **v = realloc(r->nf, cap * sizeof *v);
        ydoc_file **p = realloc(r->parsed, cap * sizeof *p);
        if (v)
            r->nf = v;
        if (p)
            r->parsed = p;
        if (!v || !p)
            return -1;
        r->cap_nf = cap;
    }
    r->nf[r->n_nf] = f;
    r->parsed[r->n_nf++] = parsed;
    return 0;
}

static const char *str_of(struct json_object *o, const char *k)
{
    struct json_object *v;
    return json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v) : NULL;
}

/* kubectl's exports: kind List (or FooList) with the objects in items. */
static struct json_object *list_items(struct json_object *doc)
{
    const char *k = str_of(doc, "kind");
    struct json_object *items;
    size_t kl = k ? strlen(k) : 0;
    if (kl >= 4 && strcmp(k + kl - 4, "List") == 0 &&
        json_object_object_get_ex(doc, "items", &items) &&
        json_object_is_type(items, json_type_array))
        return items;
    return NULL;
}

/* Calls fn on each document of f, the items of Lists in their place. */
static void each_doc(ydoc_file *f, void (*fn)(void *, struct json_object *, int), void *arg)
{
    for (size_t d = 0; d < f->n_docs; d++) {
        struct json_object *doc = f->docs[d].root, *items = list_items(doc);
        if (!items) {
            fn(arg, doc, f->docs[d].line);
            continue;
        }
        for (size_t i = 0; i < json_object_array_length(items); i++) {
            struct json_object *it = json_object_array_get_idx(items, i);
            int line = ydoc_line(it);
            fn(arg, it, line > 0 ? line : f->docs[d].line);
        }
    }
}

static void take_secret(void *arg, struct json_object *doc, int line)
{
    (void)line;
    fs_file *f = arg;
    const char *k = str_of(doc, "kind");
    if (!k || strcmp(k, "Secret") != 0)
        return;
    struct json_object **v = realloc(f->secrets, (f->n_secrets + 1) * sizeof *v);
    if (!v)
        return;
    f->secrets = v;
    f->secrets[f->n_secrets++] = json_object_get(doc);
}

static int same_secrets(const fs_file *a, const fs_file *b)
{
    if (a->n_secrets != b->n_secrets)
        return 0;
    for (size_t i = 0; i < a->n_secrets; i++)
        if (!json_object_equal(a->secrets[i], b->secrets[i]))
            return 0;
    return 1;
}

static int index_old(void *arg, const char *k, size_t l, void *v)
{
    (void)k, (void)l;
    rl *r = arg;
    fs_file *f = v;
    for (size_t i = 0; i < f->n_acs; i++)
        strmap_put(r->old_by_id, f->acs[i].c->id, &f->acs[i], NULL);
    return 0;
}

static int retire(rl *r, fs_file *f)
{
    if (!f)
        return 0;
    fs_file **v = realloc(r->retired, (r->n_retired + 1) * sizeof *v);
    if (!v) {
        /* Cannot keep it for keep_previous: drop its entries from the
         * index first so nothing points into freed memory. */
        for (size_t i = 0; i < f->n_acs; i++)
            if (strmap_get(r->old_by_id, f->acs[i].c->id) == &f->acs[i])
                strmap_del(r->old_by_id, f->acs[i].c->id, NULL);
        file_free(f);
        return -1;
    }
    r->retired = v;
    r->retired[r->n_retired++] = f;
    return 0;
}

/* Stage 1, per file ydoc_walk found: keep it, or parse it again. The
 * previous state of a file read again is retired, not freed, so that an
 * AuthConfig that no longer compiles can keep its previous version. */
static int on_file(void *arg, const char *path)
{
    rl *r = arg;
    void *ov = NULL;
    strmap_del(r->old_by_path, path, &ov);
    fs_file *old = ov;
    struct stat st;
    if (stat(path, &st) != 0) {
        /* Gone between the walk and now: the next event reloads again. */
        r->changed = 1;
        if (old && old->n_secrets)
            r->secrets_changed = 1;
        return retire(r, old);
    }
    if (old && !r->full && same_stat(old, &st))
        return push(r, old, NULL) < 0 ? retire(r, old), -1 : 0;
    r->changed = 1;
    char err[1024];
    ydoc_file *yf = NULL;
    if (ydoc_load_file(path, &yf, err, sizeof err) < 0) {
        on_err(r, err);
        if (old) {
            char msg[1200];
            snprintf(msg, sizeof msg, "%s: the file's previous AuthConfigs keep serving", path);
            if (r->sink && r->sink->on_error)
                r->sink->on_error(r->sink->arg, msg);
            set_stat(old, &st);
            return push(r, old, NULL) < 0 ? retire(r, old), -1 : 0;
        }
        yf = NULL;
    }
    fs_file *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        ydoc_file_free(yf);
        retire(r, old);
        return -1;
    }
    set_stat(f, &st);
    if (yf)
        each_doc(yf, take_secret, f);
    if (!old ? f->n_secrets != 0 : !same_secrets(old, f))
        r->secrets_changed = 1;
    if (push(r, f, yf) < 0) {
        file_free(f);
        ydoc_file_free(yf);
        retire(r, old);
        return -1;
    }
    return retire(r, old);
}

static void keep_previous(rl *r, fs_file *f, const char *id, const char *file, int line)
{
    fs_ac *prev = id ? strmap_get(r->old_by_id, id) : NULL;
    if (!prev)
        return;
    fs_ac *v = realloc(f->acs, (f->n_acs + 1) * sizeof *v);
    if (!v)
        return;
    f->acs = v;
    f->acs[f->n_acs++] = (fs_ac){ac_ref(prev->c), json_object_get(prev->doc), prev->uses_secrets};
    char msg[1200];
    snprintf(msg, sizeof msg, "%s:%d: AuthConfig %s has errors; its previous version keeps "
                              "serving", file, line, id);
    if (r->sink && r->sink->on_error)
        r->sink->on_error(r->sink->arg, msg);
}

static ac_config *compile_one(rl *r, struct json_object *doc, const char *file, int line,
                              int *uses_secrets)
{
    cfgerr ce = {.file = file, .doc_line = line, .on_error = on_err,
                 .on_warning = on_warn, .arg = r};
    unsigned long before = r->res.lookups;
    ac_config *c = ac_compile(r->fs->host, doc, &r->res, &ce);
    *uses_secrets = r->res.lookups != before;
    return c;
}

static const char *doc_id(struct json_object *doc, char *buf, size_t len)
{
    struct json_object *meta = NULL;
    json_object_object_get_ex(doc, "metadata", &meta);
    const char *name = str_of(meta, "name"), *ns = str_of(meta, "namespace");
    if (!name || !*name)
        return NULL;
    snprintf(buf, len, "%s/%s", ns && *ns ? ns : "default", name);
    return buf;
}

typedef struct docctx {
    rl *r;
    fs_file *f;
} docctx;

/* Stage 2, per document of a file read again. */
static void on_doc(void *arg, struct json_object *doc, int line)
{
    docctx *dc = arg;
    rl *r = dc->r;
    fs_file *f = dc->f;
    cfgerr ce = {.file = f->path, .doc_line = line, .on_error = on_err,
                 .on_warning = on_warn, .arg = r};
    if (!json_object_is_type(doc, json_type_object)) {
        cfgerr_warn(&ce, doc, NULL, "skipping a document that is not a map");
        return;
    }
    const char *kind = str_of(doc, "kind"), *av = str_of(doc, "apiVersion");
    if (!ac_is_authconfig(doc)) {
        if (kind && strcmp(kind, "AuthConfig") == 0) {
            f->ac_docs++;
            ac_compile(r->fs->host, doc, &r->res, &ce); /* reports the apiVersion */
        } else if (av && strncmp(av, "authorino.kuadrant.io/", 22) == 0) {
            /* A typo of the kind would otherwise serve nothing, silently. */
            struct json_object *kn = doc;
            json_object_object_get_ex(doc, "kind", &kn);
            f->ac_docs++;
            cfgerr_error(&ce, kn, "kind", "unknown kind \"%s\" for %s (expected AuthConfig)",
                         kind ? kind : "", av);
        }
        return;
    }
    f->ac_docs++;
    int uses = 0;
    ac_config *c = compile_one(r, doc, f->path, line, &uses);
    if (!c) {
        char idb[512];
        keep_previous(r, f, doc_id(doc, idb, sizeof idb), f->path, line);
        return;
    }
    fs_ac *v = realloc(f->acs, (f->n_acs + 1) * sizeof *v);
    if (!v) {
        ac_free(c);
        return;
    }
    f->acs = v;
    f->acs[f->n_acs++] = (fs_ac){c, json_object_get(doc), uses};
}

/* After Secrets changed: AuthConfigs of files kept as they were, whose
 * compile looked at Secrets, are compiled again. */
static void recompile_secret_users(rl *r, fs_file *f)
{
    for (size_t i = 0; i < f->n_acs; i++) {
        fs_ac *a = &f->acs[i];
        if (!a->uses_secrets)
            continue;
        int uses = 0;
        ac_config *c = compile_one(r, a->doc, f->path, a->c->line, &uses);
        if (!c) {
            char msg[1200];
            snprintf(msg, sizeof msg, "%s:%d: AuthConfig %s has errors after a change of "
                                      "Secrets; its previous version keeps serving",
                     f->path, a->c->line, a->c->id);
            if (r->sink && r->sink->on_error)
                r->sink->on_error(r->sink->arg, msg);
            continue;
        }
        ac_free(a->c);
        a->c = c;
        r->changed = 1;
    }
}

static int drop_file(void *arg, const char *k, size_t l, void *v)
{
    (void)k, (void)l;
    rl *r = arg;
    fs_file *f = v;
    if (!f)
        return 0;
    if (f->n_secrets)
        r->secrets_changed = 1;
    r->changed = 1;
    return 0;
}

static int free_file(void *arg, const char *k, size_t l, void *v)
{
    (void)arg, (void)k, (void)l;
    file_free(v);
    return 0;
}

snapshot *fileset_reload(fileset *fs, int full, const snapshot_sink *sink, int *changed)
{
    rl r = {.fs = fs, .sink = sink, .full = full};
    resset_init(&r.res);
    r.old_by_path = strmap_new(fs->n_files + 1);
    r.old_by_id = strmap_new(fs->n_files * 2 + 1);
    if (!r.old_by_path || !r.old_by_id) {
        strmap_free(r.old_by_path, NULL);
        strmap_free(r.old_by_id, NULL);
        return NULL;
    }
    int missing = 0;
    for (size_t i = 0; i < fs->n_files; i++) {
        fs_file *f = fs->files[i];
        strmap_put(r.old_by_path, f->path, f, NULL);
    }
    strmap_iterate(r.old_by_path, index_old, &r);
    for (size_t i = 0; i < fs->n_paths; i++) {
        struct stat st;
        if (stat(fs->paths[i], &st) != 0 && errno == ENOENT)
            missing++;
    }
    ydoc_walk((const char *const *)fs->paths, fs->n_paths, on_file, on_err, &r);
    /* Left in old_by_path: files that are gone. */
    strmap_iterate(r.old_by_path, drop_file, &r);
    /* Secrets of the new state, in file order. */
    for (size_t i = 0; i < r.n_nf; i++)
        for (size_t j = 0; j < r.nf[i]->n_secrets; j++)
            resset_add(&r.res, r.nf[i]->secrets[j]);
    for (size_t i = 0; i < r.n_nf; i++) {
        if (!r.parsed[i])
            continue;
        docctx dc = {&r, r.nf[i]};
        each_doc(r.parsed[i], on_doc, &dc);
    }
    if (r.secrets_changed)
        for (size_t i = 0; i < r.n_nf; i++)
            if (!r.parsed[i])
                recompile_secret_users(&r, r.nf[i]);
    /* The new state in file order; an id met twice keeps the first. */
    size_t total = 0, ac_docs = 0;
    for (size_t i = 0; i < r.n_nf; i++) {
        total += r.nf[i]->n_acs;
        ac_docs += (size_t)r.nf[i]->ac_docs;
    }
    ac_config **list = calloc(total + 1, sizeof *list);
    strmap *ids = strmap_new(total + 1);
    size_t n = 0;
    for (size_t i = 0; list && ids && i < r.n_nf; i++)
        for (size_t j = 0; j < r.nf[i]->n_acs; j++) {
            ac_config *c = r.nf[i]->acs[j].c;
            void *first = NULL;
            if (strmap_addn(ids, c->id, strlen(c->id), c, &first) != 0) {
                const ac_config *fc = first;
                struct json_object *meta = NULL, *name = NULL, *doc = r.nf[i]->acs[j].doc;
                json_object_object_get_ex(doc, "metadata", &meta);
                json_object_object_get_ex(meta, "name", &name);
                cfgerr ce = {.file = c->file, .doc_line = c->line, .on_error = on_err,
                             .on_warning = on_warn, .arg = &r};
                cfgerr_error(&ce, name ? name : doc, "metadata.name",
                             "AuthConfig %s is defined twice; keeping the first (%s:%d)",
                             c->id, fc->file, fc->line);
                continue;
            }
            list[n++] = c;
        }
    snapshot *s = list && ids ? snapshot_assemble(list, n, &r.res, sink) : NULL;
    free(list);
    strmap_free(ids, NULL);
    /* Commit: the new state replaces the old one. */
    for (size_t i = 0; i < r.n_nf; i++)
        ydoc_file_free(r.parsed[i]);
    strmap_iterate(r.old_by_path, free_file, NULL);
    for (size_t i = 0; i < r.n_retired; i++)
        file_free(r.retired[i]);
    free(r.retired);
    strmap_free(r.old_by_path, NULL);
    strmap_free(r.old_by_id, NULL);
    free(fs->files);
    fs->files = r.nf;
    fs->n_files = r.n_nf;
    free(r.parsed);
    resset_free(&r.res);
    if (changed)
        *changed = r.changed;
    if (s) {
        s->errors += r.errors;
        s->warnings += r.warnings;
        s->files = (int)r.n_nf;
        s->missing = missing;
        s->authconfig_docs = (int)ac_docs;
    }
    return s;
}
