/* test_fileset.c - file-mode reloads: unchanged files keep their compiled
 * AuthConfigs, a broken AuthConfig or file keeps its previous version,
 * deleted ones go, kind: List is read as its items, a misspelt kind is an
 * error, missing paths are counted. */
#include <stdio.h>
#include <sys/stat.h>
#include "cu_main.h"
#include "pc_testutil.h"
#include "host/hostimpl.h"
#include "snapshot/fileset.h"

#define AC(name, host, extra)                                            \
    "apiVersion: authorino.kuadrant.io/v1beta3\nkind: AuthConfig\n"      \
    "metadata: {name: " name ", namespace: ns}\n"                        \
    "spec:\n  hosts: [" host "]\n" extra

static char g_dir[64];

/* Replaced by rename, as editors save: a new inode, so the change is seen
 * whatever the timestamp granularity. */
static void put(const char *name, const char *text)
{
    char tmp[128], path[128];
    snprintf(tmp, sizeof tmp, "%s/.tmp", g_dir);
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    FILE *f = fopen(tmp, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
    CU_ASSERT_EQUAL(rename(tmp, path), 0);
}

static void drop(const char *name)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    unlink(path);
}

static const ac_config *find(const snapshot *s, const char *id)
{
    for (size_t i = 0; i < s->n_configs; i++)
        if (strcmp(s->configs[i]->id, id) == 0)
            return s->configs[i];
    return NULL;
}

static int has_error(const tu_errors *e, const char *what)
{
    for (int i = 0; i < e->n; i++)
        if (strstr(e->lines[i], what))
            return 1;
    return 0;
}

static snapshot *reload(fileset *fs, tu_errors *e, int *changed)
{
    memset(e, 0, sizeof *e);
    snapshot_sink sink = {tu_on_error, NULL, e};
    return fileset_reload(fs, 0, &sink, changed);
}

static void test_isolation(void)
{
    CU_ASSERT_EQUAL_FATAL(tu_load_plugins(), 0);
    snprintf(g_dir, sizeof g_dir, "/tmp/pc-fileset-XXXXXX");
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(g_dir));
    put("a.yaml", AC("a", "a.test", ""));
    put("b.yaml", AC("b", "b.test", ""));
    const char *p = g_dir;
    fileset *fs = fileset_new(host_table(), &p, 1);
    tu_errors e;
    int changed = 0;
    snapshot *s1 = reload(fs, &e, &changed);
    CU_ASSERT_EQUAL(s1->n_configs, 2);
    CU_ASSERT_EQUAL(s1->errors, 0);
    CU_ASSERT(changed);

    /* Nothing changed: nothing is compiled again. */
    snapshot *s2 = reload(fs, &e, &changed);
    CU_ASSERT(!changed);
    CU_ASSERT_PTR_EQUAL(find(s2, "ns/a"), find(s1, "ns/a"));
    CU_ASSERT_PTR_EQUAL(find(s2, "ns/b"), find(s1, "ns/b"));

    /* a breaks, b changes: a keeps its compiled version, b is new. */
    put("a.yaml", AC("a", "a.test", "  authentication: {x: {nosuchmethod: {}}}\n"));
    put("b.yaml", AC("b", "b2.test", ""));
    snapshot *s3 = reload(fs, &e, &changed);
    CU_ASSERT(changed);
    CU_ASSERT(s3->errors > 0);
    CU_ASSERT_PTR_EQUAL(find(s3, "ns/a"), find(s1, "ns/a"));
    CU_ASSERT_PTR_NOT_NULL(find(s3, "ns/b"));
    CU_ASSERT_PTR_NOT_EQUAL(find(s3, "ns/b"), find(s1, "ns/b"));
    CU_ASSERT(has_error(&e, "a.yaml:1: AuthConfig ns/a has errors; its previous version "
                            "keeps serving"));

    /* b no longer parses: its AuthConfig stays; a file that never parsed
     * adds nothing. */
    const ac_config *b3 = find(s3, "ns/b");
    put("b.yaml", "kind: [unclosed\n");
    put("c.yaml", "spec: {unclosed\n");
    snapshot *s4 = reload(fs, &e, &changed);
    CU_ASSERT_PTR_EQUAL(find(s4, "ns/b"), b3);
    CU_ASSERT_PTR_EQUAL(find(s4, "ns/a"), find(s1, "ns/a"));
    CU_ASSERT_EQUAL(s4->n_configs, 2);
    CU_ASSERT(has_error(&e, "b.yaml: the file's previous AuthConfigs keep serving"));

    /* Deleted: gone. A List's items are read, a misspelt kind is an error. */
    drop("b.yaml");
    drop("c.yaml");
    put("l.yaml", "apiVersion: v1\nkind: List\nitems:\n"
                  "- apiVersion: authorino.kuadrant.io/v1beta3\n  kind: AuthConfig\n"
                  "  metadata: {name: l1, namespace: ns}\n  spec: {hosts: [l1.test]}\n"
                  "- apiVersion: authorino.kuadrant.io/v1beta3\n  kind: AuthConfg\n"
                  "  metadata: {name: l2, namespace: ns}\n  spec: {hosts: [l2.test]}\n");
    snapshot *s5 = reload(fs, &e, &changed);
    CU_ASSERT_PTR_NULL(find(s5, "ns/b"));
    CU_ASSERT_PTR_NOT_NULL(find(s5, "ns/l1"));
    CU_ASSERT_PTR_NULL(find(s5, "ns/l2"));
    CU_ASSERT(has_error(&e, "l.yaml:9: kind: unknown kind \"AuthConfg\""));
    CU_ASSERT_EQUAL(s5->authconfig_docs, 3);
    CU_ASSERT_EQUAL(s5->missing, 0);

    /* A full reload reads (and compiles) everything again. */
    memset(&e, 0, sizeof e);
    snapshot_sink sink = {tu_on_error, NULL, &e};
    snapshot *s6 = fileset_reload(fs, 1, &sink, &changed);
    CU_ASSERT_PTR_NOT_EQUAL(find(s6, "ns/l1"), find(s5, "ns/l1"));
    /* a is still broken: its first version keeps serving even then. */
    CU_ASSERT_PTR_EQUAL(find(s6, "ns/a"), find(s1, "ns/a"));

    snapshot *ss[] = {s1, s2, s3, s4, s5, s6};
    for (size_t i = 0; i < 6; i++)
        snapshot_unref(ss[i]);
    fileset_free(fs);
    drop("a.yaml");
    drop("l.yaml");
    rmdir(g_dir);
}

static void test_missing(void)
{
    const char *p[] = {"/nonexistent/pc-fileset/x.yaml"};
    fileset *fs = fileset_new(host_table(), p, 1);
    tu_errors e;
    int changed = 0;
    snapshot *s = reload(fs, &e, &changed);
    CU_ASSERT_EQUAL(s->missing, 1);
    CU_ASSERT_EQUAL(s->n_configs, 0);
    CU_ASSERT(has_error(&e, "x.yaml: No such file or directory"));
    snapshot_unref(s);
    fileset_free(fs);
}

int cu_register(void)
{
    static const cu_case cases[] = {{"per-file and per-AuthConfig isolation", test_isolation},
                                    {"missing paths are counted", test_missing},
                                    {NULL, NULL}};
    return cu_add_suite("fileset", cases);
}
