/* Tests for the plugin ABI checks in engine/plugin/loader: every broken
 * plugin under tests/plugins/abi is refused with one line that names the
 * file and, where versions are at stake, both versions; a refused plugin
 * registers nothing; a plugin whose create fails is loaded but its
 * AuthConfig is not. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cu_main.h"
#include "host/hostimpl.h"
#include "plugin/loader.h"
#include "snapshot/snapshot.h"

#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        char m_[1024];                                                          \
        snprintf(m_, sizeof m_, __VA_ARGS__);                                   \
        CU_assertImplementation((cond) ? CU_TRUE : CU_FALSE, __LINE__, m_,      \
                                __FILE__, "", CU_FALSE);                        \
    } while (0)

/* ---- where the test plugins are ---- */

static char g_dir[1024];

static const char *abi_dir(void)
{
    if (g_dir[0])
        return g_dir;
#ifdef PC_ABI_PLUGIN_DIR
    snprintf(g_dir, sizeof g_dir, "%s", PC_ABI_PLUGIN_DIR);
#else
    const char *b = getenv("PC_BUILD_DIR");
    snprintf(g_dir, sizeof g_dir, "%s/tests/plugins/abi", b ? b : ".");
#endif
    return g_dir;
}

static void plugin_path(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s.so", abi_dir(), name);
}

/* ---- collecting refusals ---- */

struct msgs {
    int n;
    char last[2048];
    char all[4096];
};

static void collect(void *arg, const char *msg)
{
    struct msgs *m = arg;
    m->n++;
    snprintf(m->last, sizeof m->last, "%s", msg);
    size_t l = strlen(m->all);
    snprintf(m->all + l, sizeof m->all - l, "%s\n", msg);
}

/* Loads one test plugin expecting a refusal; returns the message. */
static const char *refused(const char *name, struct msgs *m)
{
    char path[1200];
    plugin_path(path, sizeof path, name);
    CHECK(access(path, R_OK) == 0, "%s was not built", path);
    memset(m, 0, sizeof *m);
    int rc = loader_load_file(path, collect, m);
    CHECK(rc == -1, "%s: loader_load_file returned %d, want -1", name, rc);
    CHECK(m->n == 1, "%s: %d messages, want exactly one: %s", name, m->n, m->all);
    CHECK(strchr(m->last, '\n') == NULL, "%s: message spans lines: %s", name, m->last);
    CHECK(strstr(m->last, path) != NULL, "%s: message does not name %s: %s", name,
          path, m->last);
    return m->last;
}

static void contains(const char *msg, const char *want)
{
    CHECK(strstr(msg, want) != NULL, "message \"%s\" lacks \"%s\"", msg, want);
}

/* ---- cases ---- */

static void test_ok_loads(void)
{
    char path[1200];
    struct msgs m = {0};
    loader_reset();
    plugin_path(path, sizeof path, "abi_ok");
    CHECK(loader_load_file(path, collect, &m) == 0, "abi_ok refused: %s", m.all);
    CHECK(m.n == 0, "abi_ok: unexpected messages: %s", m.all);
    const loader_type *t = loader_find(PC_PHASE_AUTHORIZATION, "abiOk");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_STRING_EQUAL(t->path, path);
    CU_ASSERT_STRING_EQUAL(t->plugin_name, "abi_ok");
    loader_reset();
}

static void test_other_major(void)
{
    struct msgs m;
    char want[64];
    loader_reset();
    const char *msg = refused("abi_other_major", &m);
    snprintf(want, sizeof want, "built for plugin ABI %d.0", PC_ABI_MAJOR + 1);
    contains(msg, want);
    snprintf(want, sizeof want, "host speaks %d.%d", PC_ABI_MAJOR, PC_ABI_MINOR);
    contains(msg, want);
    CU_ASSERT_PTR_NULL(loader_find(PC_PHASE_AUTHORIZATION, "abiOtherMajor"));
}

static void test_newer_minor(void)
{
    struct msgs m;
    char want[96];
    loader_reset();
    const char *msg = refused("abi_newer_minor", &m);
    snprintf(want, sizeof want, "built for plugin ABI %d.%d, newer than this host's %d.%d",
             PC_ABI_MAJOR, PC_ABI_MINOR + 1, PC_ABI_MAJOR, PC_ABI_MINOR);
    contains(msg, want);
    CU_ASSERT_PTR_NULL(loader_find(PC_PHASE_AUTHORIZATION, "abiNewerMinor"));
}

static void test_bad_size(void)
{
    struct msgs m;
    char want[128];
    loader_reset();
    const char *msg = refused("abi_bad_size", &m);
    snprintf(want, sizeof want, "descriptor size %zu does not match ABI %d.%d",
             sizeof(pc_plugin) + 16, PC_ABI_MAJOR, PC_ABI_MINOR);
    contains(msg, want);
    snprintf(want, sizeof want, "host expects %zu", sizeof(pc_plugin));
    contains(msg, want);
    CU_ASSERT_PTR_NULL(loader_find(PC_PHASE_AUTHORIZATION, "abiBadSize"));
}

/* A plugin built with the 1.0 headers loads on this host whatever was
 * appended since; one claiming 1.0 with a size 1.0 never had does not. */
static void test_v1_0_loads(void)
{
    char path[1200];
    struct msgs m = {0};
    loader_reset();
    plugin_path(path, sizeof path, "abi_v1_0");
    CHECK(loader_load_file(path, collect, &m) == 0, "abi_v1_0 refused: %s", m.all);
    CU_ASSERT_PTR_NOT_NULL(loader_find(PC_PHASE_AUTHORIZATION, "abiV10"));
    loader_reset();
    const char *msg = refused("abi_v1_0_bad_type", &m);
    contains(msg, "evaluator type struct size 72, ABI 1.0 has 64");
    CU_ASSERT_PTR_NULL(loader_find(PC_PHASE_AUTHORIZATION, "abiV10BadType"));

    /* The descriptor check knows every minor's size as a number. */
    char err[512];
    pc_plugin p = {PC_PLUGIN_MAGIC, 1, 0, 56u, 0, "x", "1", "", NULL, NULL, NULL};
    for (unsigned minor = 0; minor <= PC_ABI_MINOR; minor++) {
        /* 1.7 appended config_hooks to the descriptor. */
        p.abi_minor = (uint16_t)minor;
        p.struct_size = minor < 7 ? 56u : 64u;
        CHECK(loader_check_descriptor(&p, "/p/x.so", err, sizeof err) == 0,
              "1.%u with %u bytes refused: %s", minor, p.struct_size, err);
    }
    p.abi_minor = 7;
    p.struct_size = 56u;
    CU_ASSERT_EQUAL(loader_check_descriptor(&p, "/p/x.so", err, sizeof err), -1);
    contains(err, "descriptor size 56 does not match ABI 1.7 (host expects 64)");
    p.abi_minor = 0;
    p.struct_size = 64u;
    CU_ASSERT_EQUAL(loader_check_descriptor(&p, "/p/x.so", err, sizeof err), -1);
    contains(err, "descriptor size 64 does not match ABI 1.0 (host expects 56)");
}

/* PC_HOST_HAS against the table a host of each minor hands out: a service
 * appended later reads as absent, one of 1.0 as present. */
static void test_host_has(void)
{
    pc_host h = *host_table();
    CU_ASSERT_EQUAL(h.struct_size, loader_abi_host_size(PC_ABI_MINOR));
    CU_ASSERT(PC_HOST_HAS(&h, eval_can_block));
    h.struct_size = loader_abi_host_size(0);
    CU_ASSERT(PC_HOST_HAS(&h, metrics_request));
    CU_ASSERT(PC_HOST_HAS(&h, submit));
    CU_ASSERT(!PC_HOST_HAS(&h, value_keep_json));
    CU_ASSERT(!PC_HOST_HAS(&h, value_release));
    CU_ASSERT(!PC_HOST_HAS(&h, base64_decode));
    CU_ASSERT(!PC_HOST_HAS(&h, eval_can_block));
    h.struct_size = loader_abi_host_size(1);
    CU_ASSERT(PC_HOST_HAS(&h, value_release));
    CU_ASSERT(!PC_HOST_HAS(&h, base64_decode));
    h.struct_size = loader_abi_host_size(2);
    CU_ASSERT(PC_HOST_HAS(&h, base64_decode));
    CU_ASSERT(!PC_HOST_HAS(&h, eval_can_block));
    CU_ASSERT_EQUAL(loader_abi_host_size(PC_ABI_MINOR + 1), 0);
}

/* Config hooks (1.7): a 1.6 descriptor has no config_hooks field and the
 * loader reads none; a hook type of a size 1.7 never had is refused; a
 * good one is registered by name. */
static void test_config_hooks(void)
{
    char path[1200];
    struct msgs m = {0};
    loader_reset();
    plugin_path(path, sizeof path, "abi_hook_v1_5");
    CHECK(loader_load_file(path, collect, &m) == 0, "abi_hook_v1_5 refused: %s", m.all);
    CU_ASSERT_PTR_NOT_NULL(loader_find(PC_PHASE_AUTHORIZATION, "abiV15"));
    CU_ASSERT_EQUAL(loader_count_hooks(), 0);
    loader_reset();
    const char *msg = refused("abi_hook_bad_size", &m);
    contains(msg, "config hook abiBadHook has a bad layout (struct size 40, ABI 1.7 has 48)");
    CU_ASSERT_PTR_NULL(loader_find_hook("abiBadHook"));
    loader_reset();
    memset(&m, 0, sizeof m);
    plugin_path(path, sizeof path, "abi_hook_ok");
    CHECK(loader_load_file(path, collect, &m) == 0, "abi_hook_ok refused: %s", m.all);
    const loader_hook *h = loader_find_hook("abiHook");
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_STRING_EQUAL(h->plugin_name, "abi_hook_ok");
    CU_ASSERT_EQUAL(loader_count_hooks(), 1);
    /* A second provider of the name is refused. */
    msg = refused("abi_hook_ok", &m);
    contains(msg, "config hook \"abiHook\" is already provided by");
    loader_reset();
}

static void test_no_entry(void)
{
    struct msgs m;
    loader_reset();
    const char *msg = refused("abi_no_entry", &m);
    contains(msg, "not a Portcullis plugin");
    contains(msg, PC_PLUGIN_ENTRY_NAME);
}

static void test_plain_lib(void)
{
    struct msgs m;
    loader_reset();
    const char *msg = refused("abi_plain_lib", &m);
    contains(msg, "not a Portcullis plugin");
    contains(msg, PC_PLUGIN_ENTRY_NAME);
}

static void test_not_elf(void)
{
    struct msgs m;
    loader_reset();
    const char *msg = refused("abi_garbage", &m);
    contains(msg, "cannot load");
}

static void test_duplicate_type(void)
{
    char a[1200];
    struct msgs m = {0};
    loader_reset();
    plugin_path(a, sizeof a, "abi_dup_a");
    CHECK(loader_load_file(a, collect, &m) == 0, "abi_dup_a refused: %s", m.all);
    const char *msg = refused("abi_dup_b", &m);
    contains(msg, "\"abiDuplicate\"");
    contains(msg, a);
    contains(msg, "already provided");
    /* The first provider keeps the type. */
    const loader_type *t = loader_find(PC_PHASE_IDENTITY, "abiDuplicate");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_STRING_EQUAL(t->plugin_name, "abi_dup_a");
    CU_ASSERT_EQUAL(loader_count_types(), 1);
    loader_reset();
}

static void test_descriptor_checks(void)
{
    char err[512];
    pc_plugin p = {PC_PLUGIN_MAGIC, PC_ABI_MAJOR, PC_ABI_MINOR,
                   (uint32_t)sizeof(pc_plugin), 0, "x", "1", "", NULL, NULL, NULL};
    CU_ASSERT_EQUAL(loader_check_descriptor(&p, "/p/x.so", err, sizeof err), 0);

    CU_ASSERT_EQUAL(loader_check_descriptor(NULL, "/p/x.so", err, sizeof err), -1);
    contains(err, "/p/x.so");

    p.magic = 0x12345678u;
    CU_ASSERT_EQUAL(loader_check_descriptor(&p, "/p/x.so", err, sizeof err), -1);
    contains(err, "bad magic 0x12345678");
    p.magic = PC_PLUGIN_MAGIC;

    p.struct_size = (uint32_t)sizeof(pc_plugin) - 8;
    CU_ASSERT_EQUAL(loader_check_descriptor(&p, "/p/x.so", err, sizeof err), -1);
    contains(err, "descriptor size");
    p.struct_size = (uint32_t)sizeof(pc_plugin);

    p.name = "";
    CU_ASSERT_EQUAL(loader_check_descriptor(&p, "/p/x.so", err, sizeof err), -1);
    contains(err, "no name");
}

static void test_load_dir_counts(void)
{
    struct msgs m = {0};
    loader_reset();
    /* Refused: bad_size, dup_b, garbage, hook_bad_size, newer_minor,
     * no_entry, other_major, plain_lib, v1_0_bad_type. Loaded:
     * create_fails, dup_a, hook_ok, hook_v1_5, ok, v1_0. */
    int n = loader_load_dir(abi_dir(), collect, &m);
    CHECK(n == 9, "loader_load_dir refused %d, want 9:\n%s", n, m.all);
    CHECK(m.n == 9, "%d messages, want 9:\n%s", m.n, m.all);
    CU_ASSERT_EQUAL(loader_count_types(), 5);
    CU_ASSERT_EQUAL(loader_count_hooks(), 1);
    CU_ASSERT_PTR_NOT_NULL(loader_find(PC_PHASE_AUTHORIZATION, "abiV10"));
    CU_ASSERT_PTR_NOT_NULL(loader_find(PC_PHASE_AUTHORIZATION, "abiOk"));
    CU_ASSERT_PTR_NOT_NULL(loader_find(PC_PHASE_AUTHORIZATION, "abiCreateFails"));
    CU_ASSERT_PTR_NOT_NULL(loader_find(PC_PHASE_IDENTITY, "abiDuplicate"));
    loader_reset();

    memset(&m, 0, sizeof m);
    CU_ASSERT_EQUAL(loader_load_dir("/nonexistent/plugins", collect, &m), 1);
    contains(m.last, "/nonexistent/plugins");
}

static void test_create_fails(void)
{
    char path[1200], yaml[] = "/tmp/pc-test-abi-XXXXXX";
    struct msgs m = {0};
    loader_reset();
    plugin_path(path, sizeof path, "abi_create_fails");
    /* The loader cannot know create will fail: it accepts the plugin. */
    CHECK(loader_load_file(path, collect, &m) == 0, "refused: %s", m.all);

    int fd = mkstemp(yaml);
    CU_ASSERT_FATAL(fd >= 0);
    static const char doc[] =
        "apiVersion: authorino.kuadrant.io/v1beta3\n"
        "kind: AuthConfig\n"
        "metadata:\n"
        "  name: refused\n"
        "  namespace: abi\n"
        "spec:\n"
        "  hosts:\n"
        "  - refused.abi.test\n"
        "  authorization:\n"
        "    never:\n"
        "      abiCreateFails: {}\n";
    CU_ASSERT_EQUAL_FATAL(write(fd, doc, sizeof doc - 1), (ssize_t)(sizeof doc - 1));
    close(fd);

    memset(&m, 0, sizeof m);
    snapshot_sink sink = {collect, NULL, &m};
    const char *paths[] = {yaml};
    snapshot *s = snapshot_load(host_table(), paths, 1, &sink);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CHECK(s->n_configs == 0, "the AuthConfig loaded although create failed");
    CHECK(m.n >= 1, "no error reported");
    contains(m.all, yaml);
    contains(m.all, "abiCreateFails refuses every config");
    contains(m.all, "spec.authorization.never");
    snapshot_unref(s);
    unlink(yaml);
    loader_reset();
}

int cu_register(void)
{
    static const cu_case cases[] = {
        {"a well-formed plugin loads", test_ok_loads},
        {"another major is refused", test_other_major},
        {"a newer minor is refused", test_newer_minor},
        {"a different descriptor size is refused", test_bad_size},
        {"a plugin built against 1.0 loads", test_v1_0_loads},
        {"PC_HOST_HAS on the table of each minor", test_host_has},
        {"config hooks of 1.7, and none read from 1.6", test_config_hooks},
        {"a missing entry point is refused", test_no_entry},
        {"a plain shared library is refused", test_plain_lib},
        {"a file that is not ELF is refused", test_not_elf},
        {"a second provider of a type is refused", test_duplicate_type},
        {"descriptor checks", test_descriptor_checks},
        {"loading the directory counts refusals", test_load_dir_counts},
        {"a failing create rejects its AuthConfig", test_create_fails},
        {NULL, NULL}};
    return cu_add_suite("abi", cases);
}
