/* Tests for engine/index/hostidx: host -> AuthConfig lookup. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cu_main.h"
#include "index/hostidx.h"

static int cfg[20000]; /* stand-ins for AuthConfigs */

static void *look(const hostidx *idx, const char *host)
{
    return hostidx_lookup(idx, host, strlen(host));
}

static void test_exact(void)
{
    hostidx *idx = hostidx_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(idx);
    CU_ASSERT_PTR_NULL(look(idx, "api.example.com"));
    CU_ASSERT_EQUAL(hostidx_add(idx, "api.example.com", &cfg[1], NULL), 0);
    CU_ASSERT_EQUAL(hostidx_add(idx, "svc:8080", &cfg[2], NULL), 0);
    CU_ASSERT_EQUAL(hostidx_add(idx, "[::1]:8000", &cfg[3], NULL), 0);
    CU_ASSERT_EQUAL(hostidx_add(idx, "10.0.0.1", &cfg[4], NULL), 0);
    CU_ASSERT_EQUAL(hostidx_count(idx), 4);

    CU_ASSERT_PTR_EQUAL(look(idx, "api.example.com"), &cfg[1]);
    CU_ASSERT_PTR_EQUAL(look(idx, "svc:8080"), &cfg[2]);
    CU_ASSERT_PTR_EQUAL(look(idx, "[::1]:8000"), &cfg[3]);
    CU_ASSERT_PTR_EQUAL(look(idx, "10.0.0.1"), &cfg[4]);
    CU_ASSERT_PTR_NULL(look(idx, "example.com"));
    CU_ASSERT_PTR_NULL(look(idx, "x.api.example.com"));
    CU_ASSERT_PTR_NULL(look(idx, "api.example.co"));
    CU_ASSERT_PTR_NULL(look(idx, "svc"));      /* no port to drop: "svc" was linked with one */
    CU_ASSERT_PTR_NULL(look(idx, "svc:8081")); /* the port drops, "svc" is not linked */
    CU_ASSERT_PTR_NULL(look(idx, ""));
    /* Only len bytes count: the host need not end in NUL. */
    CU_ASSERT_PTR_EQUAL(hostidx_lookup(idx, "api.example.comXYZ", 15), &cfg[1]);
    CU_ASSERT_PTR_NULL(hostidx_lookup(idx, "api.example.com", 14));
    hostidx_free(idx);
}

static void test_wildcard_specificity(void)
{
    hostidx *idx = hostidx_new();
    CU_ASSERT_EQUAL(hostidx_add(idx, "*.example.com", &cfg[1], NULL), 0);
    CU_ASSERT_EQUAL(hostidx_add(idx, "*.b.example.com", &cfg[2], NULL), 0);
    CU_ASSERT_EQUAL(hostidx_add(idx, "c.b.example.com", &cfg[3], NULL), 0);
    CU_ASSERT_EQUAL(hostidx_add(idx, "*.com", &cfg[4], NULL), 0);

    CU_ASSERT_PTR_EQUAL(look(idx, "a.example.com"), &cfg[1]);
    CU_ASSERT_PTR_EQUAL(look(idx, "x.y.example.com"), &cfg[1]); /* any depth */
    CU_ASSERT_PTR_EQUAL(look(idx, "b.example.com"), &cfg[1]);
    CU_ASSERT_PTR_EQUAL(look(idx, "x.b.example.com"), &cfg[2]); /* most specific wildcard */
    CU_ASSERT_PTR_EQUAL(look(idx, "z.x.b.example.com"), &cfg[2]);
    CU_ASSERT_PTR_EQUAL(look(idx, "c.b.example.com"), &cfg[3]); /* exact beats wildcard */
    CU_ASSERT_PTR_EQUAL(look(idx, "example.com"), &cfg[4]);
    CU_ASSERT_PTR_EQUAL(look(idx, "other.com"), &cfg[4]);
    CU_ASSERT_PTR_NULL(look(idx, "example.org"));
    CU_ASSERT_PTR_NULL(look(idx, "com"));
    /* An empty label in front of the suffix is not a host label. */
    CU_ASSERT_PTR_NULL(look(idx, ".com"));
    hostidx_free(idx);
}

static void test_apex_not_covered(void)
{
    hostidx *idx = hostidx_new();
    CU_ASSERT_EQUAL(hostidx_add(idx, "*.a.com", &cfg[1], NULL), 0);
    CU_ASSERT_PTR_NULL(look(idx, "a.com"));
    CU_ASSERT_PTR_NULL(look(idx, "xa.com")); /* a suffix that is not on a label boundary */
    CU_ASSERT_PTR_NULL(look(idx, ".a.com"));
    CU_ASSERT_PTR_NULL(look(idx, ".a.com:80"));
    CU_ASSERT_PTR_EQUAL(look(idx, "x.a.com"), &cfg[1]);
    CU_ASSERT_EQUAL(hostidx_add(idx, "a.com", &cfg[2], NULL), 0);
    CU_ASSERT_PTR_EQUAL(look(idx, "a.com"), &cfg[2]);
    hostidx_free(idx);
}

static void test_catch_all(void)
{
    hostidx *idx = hostidx_new();
    CU_ASSERT_EQUAL(hostidx_add(idx, "*.example.com", &cfg[1], NULL), 0);
    CU_ASSERT_EQUAL(hostidx_add(idx, "api.example.org", &cfg[3], NULL), 0);
    CU_ASSERT_PTR_NULL(look(idx, "nothing.here"));
    CU_ASSERT_EQUAL(hostidx_add(idx, "*", &cfg[2], NULL), 0);
    CU_ASSERT_PTR_EQUAL(look(idx, "nothing.here"), &cfg[2]);
    CU_ASSERT_PTR_EQUAL(look(idx, "localhost"), &cfg[2]);
    CU_ASSERT_PTR_EQUAL(look(idx, "x.example.com"), &cfg[1]);
    CU_ASSERT_PTR_EQUAL(look(idx, "api.example.org"), &cfg[3]);
    /* As in Authorino the catch-all is tried before the port is dropped. */
    CU_ASSERT_PTR_EQUAL(look(idx, "api.example.org:8080"), &cfg[2]);
    CU_ASSERT_EQUAL(hostidx_count(idx), 3);
    void *held = NULL;
    CU_ASSERT_EQUAL(hostidx_add(idx, "*", &cfg[4], &held), 1);
    CU_ASSERT_PTR_EQUAL(held, &cfg[2]);
    CU_ASSERT_EQUAL(hostidx_count(idx), 3);
    hostidx_free(idx);
}

static void test_port_retry(void)
{
    hostidx *idx = hostidx_new();
    CU_ASSERT_EQUAL(hostidx_add(idx, "api.example.com", &cfg[1], NULL), 0);
    CU_ASSERT_EQUAL(hostidx_add(idx, "api.example.com:9000", &cfg[2], NULL), 0);
    CU_ASSERT_EQUAL(hostidx_add(idx, "*.wild.com", &cfg[3], NULL), 0);
    CU_ASSERT_EQUAL(hostidx_add(idx, "[::1]", &cfg[4], NULL), 0);
    CU_ASSERT_EQUAL(hostidx_add(idx, "::1", &cfg[5], NULL), 0);
    CU_ASSERT_EQUAL(hostidx_add(idx, "10.1.2.3", &cfg[6], NULL), 0);
    CU_ASSERT_EQUAL(hostidx_add(idx, "[fe80::1%eth0]", &cfg[7], NULL), 0);

    CU_ASSERT_PTR_EQUAL(look(idx, "api.example.com:8080"), &cfg[1]);
    CU_ASSERT_PTR_EQUAL(look(idx, "api.example.com:9000"), &cfg[2]); /* linked with its port */
    CU_ASSERT_PTR_EQUAL(look(idx, "x.wild.com:443"), &cfg[3]);
    CU_ASSERT_PTR_EQUAL(look(idx, "10.1.2.3:80"), &cfg[6]);
    CU_ASSERT_PTR_EQUAL(look(idx, "[::1]:8000"), &cfg[4]);
    CU_ASSERT_PTR_EQUAL(look(idx, "[::1]"), &cfg[4]);
    CU_ASSERT_PTR_EQUAL(look(idx, "::1"), &cfg[5]);
    CU_ASSERT_PTR_EQUAL(look(idx, "[fe80::1%eth0]:443"), &cfg[7]);
    /* A bare IPv6 literal has no port: "::1:80" is an address, not "::1" + port. */
    CU_ASSERT_PTR_NULL(look(idx, "::1:80"));
    /* Not ports: empty, not digits, too long. */
    CU_ASSERT_PTR_NULL(look(idx, "api.example.com:"));
    CU_ASSERT_PTR_NULL(look(idx, "api.example.com:http"));
    CU_ASSERT_PTR_NULL(look(idx, "api.example.com:123456"));
    CU_ASSERT_PTR_NULL(look(idx, ":80"));
    CU_ASSERT_PTR_NULL(look(idx, "[::2]:80"));
    hostidx_free(idx);

    /* A wildcard linked with a port matches only hosts with that port, and
     * beats the port fallback. */
    idx = hostidx_new();
    CU_ASSERT_EQUAL(hostidx_add(idx, "*.example.com:8443", &cfg[1], NULL), 0);
    CU_ASSERT_EQUAL(hostidx_add(idx, "*.example.com", &cfg[2], NULL), 0);
    CU_ASSERT_PTR_EQUAL(look(idx, "a.example.com:8443"), &cfg[1]);
    CU_ASSERT_PTR_EQUAL(look(idx, "a.example.com:80"), &cfg[2]);
    CU_ASSERT_PTR_EQUAL(look(idx, "a.example.com"), &cfg[2]);
    hostidx_free(idx);
}

static void test_conflicts(void)
{
    hostidx *idx = hostidx_new();
    void *held = NULL;
    CU_ASSERT_EQUAL(hostidx_add(idx, "api.example.com", &cfg[1], NULL), 0);
    CU_ASSERT_EQUAL(hostidx_add(idx, "api.example.com", &cfg[2], &held), 1);
    CU_ASSERT_PTR_EQUAL(held, &cfg[1]);
    CU_ASSERT_EQUAL(hostidx_add(idx, "API.Example.COM", &cfg[3], &held), 1); /* same host */
    CU_ASSERT_PTR_EQUAL(held, &cfg[1]);
    CU_ASSERT_EQUAL(hostidx_add(idx, "api.example.com", &cfg[2], NULL), 1); /* existing may be NULL */
    CU_ASSERT_PTR_EQUAL(look(idx, "api.example.com"), &cfg[1]);          /* first come wins */

    CU_ASSERT_EQUAL(hostidx_add(idx, "*.example.com", &cfg[4], NULL), 0); /* covers, but not the same */
    held = NULL;
    CU_ASSERT_EQUAL(hostidx_add(idx, "*.example.com", &cfg[5], &held), 1);
    CU_ASSERT_PTR_EQUAL(held, &cfg[4]);
    /* The wildcard "*.x" and the exact "x" do not clash. */
    CU_ASSERT_EQUAL(hostidx_add(idx, "example.com", &cfg[6], NULL), 0);
    CU_ASSERT_EQUAL(hostidx_count(idx), 3);
    CU_ASSERT_PTR_EQUAL(look(idx, "api.example.com"), &cfg[1]);
    CU_ASSERT_PTR_EQUAL(look(idx, "web.example.com"), &cfg[4]);
    CU_ASSERT_PTR_EQUAL(look(idx, "example.com"), &cfg[6]);
    hostidx_free(idx);
}

static void test_case(void)
{
    hostidx *idx = hostidx_new();
    CU_ASSERT_EQUAL(hostidx_add(idx, "Api.Example.com", &cfg[1], NULL), 0);
    CU_ASSERT_EQUAL(hostidx_add(idx, "*.WILD.io", &cfg[2], NULL), 0);
    CU_ASSERT_PTR_EQUAL(look(idx, "api.example.com"), &cfg[1]);
    CU_ASSERT_PTR_EQUAL(look(idx, "API.EXAMPLE.COM"), &cfg[1]);
    CU_ASSERT_PTR_EQUAL(look(idx, "API.EXAMPLE.COM:8080"), &cfg[1]);
    CU_ASSERT_PTR_EQUAL(look(idx, "X.wild.IO"), &cfg[2]);
    /* Only ASCII folds: bytes above 0x7f are compared as they are. */
    CU_ASSERT_EQUAL(hostidx_add(idx, "\xc3\xa9.example.com", &cfg[3], NULL), 0);
    CU_ASSERT_PTR_EQUAL(look(idx, "\xc3\xa9.EXAMPLE.com"), &cfg[3]);
    CU_ASSERT_PTR_NULL(look(idx, "\xc3\x89.example.com"));
    hostidx_free(idx);
}

static void test_invalid_hosts(void)
{
    hostidx *idx = hostidx_new();
    static const char *bad[] = {
        "", "*.", "**", "*example.com", "a.*.com", "api.*", "*.*.com", "a*b.com", ".example.com",
        "a..com", "api example.com", "api.example.com\n", "https://api.example.com", "api.example.com/path",
        "user@api.example.com", "[::1", "::1]", "[]", "[::1]x", "[::1]:", "[::1]:abc", "*.[::1]", "[zz::1]",
        "a\tb", "\x7f", "*.",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = hostidx_add(idx, bad[i], &cfg[1], NULL);
        if (rc != -1)
            printf("\n  accepted invalid host \"%s\"\n", bad[i]);
        CU_ASSERT_EQUAL(rc, -1);
    }
    char longhost[300];
    memset(longhost, 'a', sizeof longhost - 1);
    longhost[sizeof longhost - 1] = '\0';
    CU_ASSERT_EQUAL(hostidx_add(idx, longhost, &cfg[1], NULL), -1);
    longhost[HOSTIDX_MAX_HOST] = '\0';
    CU_ASSERT_EQUAL(hostidx_add(idx, longhost, &cfg[1], NULL), 0); /* exactly the limit */
    CU_ASSERT_PTR_EQUAL(look(idx, longhost), &cfg[1]);
    CU_ASSERT_EQUAL(hostidx_add(idx, "ok.example.com", NULL, NULL), -1); /* NULL value */
    CU_ASSERT_EQUAL(hostidx_add(idx, NULL, &cfg[1], NULL), -1);
    CU_ASSERT_EQUAL(hostidx_add(NULL, "a.com", &cfg[1], NULL), -1);
    CU_ASSERT_EQUAL(hostidx_count(idx), 1);

    /* Valid oddities. */
    CU_ASSERT_EQUAL(hostidx_add(idx, "localhost", &cfg[2], NULL), 0);
    CU_ASSERT_EQUAL(hostidx_add(idx, "a.com.", &cfg[3], NULL), 0);
    CU_ASSERT_EQUAL(hostidx_add(idx, "*.com", &cfg[4], NULL), 0);
    CU_ASSERT_EQUAL(hostidx_add(idx, "xn--bcher-kva.example", &cfg[5], NULL), 0);
    hostidx_free(idx);
}

static void test_long_lookups_miss(void)
{
    hostidx *idx = hostidx_new();
    CU_ASSERT_EQUAL(hostidx_add(idx, "*", &cfg[1], NULL), 0);
    char longhost[1000];
    memset(longhost, 'b', sizeof longhost);
    CU_ASSERT_PTR_NULL(hostidx_lookup(idx, longhost, sizeof longhost));
    CU_ASSERT_PTR_NULL(hostidx_lookup(idx, longhost, HOSTIDX_MAX_HOST + 1));
    CU_ASSERT_PTR_EQUAL(hostidx_lookup(idx, longhost, HOSTIDX_MAX_HOST), &cfg[1]);
    CU_ASSERT_PTR_NULL(hostidx_lookup(idx, NULL, 3));
    CU_ASSERT_PTR_NULL(hostidx_lookup(NULL, "a", 1));
    CU_ASSERT_EQUAL(hostidx_count(NULL), 0);
    hostidx_free(NULL);
    hostidx_free(idx);
}

/* The scale the index is built for: 10,000 AuthConfigs with two hosts each,
 * one exact and one wildcard. */
static void test_ten_thousand(void)
{
    hostidx *idx = hostidx_new();
    char host[64];
    const int n = 10000;
    for (int i = 0; i < n; i++) {
        snprintf(host, sizeof host, "api-%d.tenant-%d.example.com", i, i % 97);
        CU_ASSERT_EQUAL(hostidx_add(idx, host, &cfg[i], NULL), 0);
        snprintf(host, sizeof host, "*.svc-%d.internal", i);
        CU_ASSERT_EQUAL(hostidx_add(idx, host, &cfg[i], NULL), 0);
    }
    CU_ASSERT_EQUAL(hostidx_count(idx), (size_t)(2 * n));
    int wrong = 0;
    for (int i = 0; i < n; i++) {
        snprintf(host, sizeof host, "API-%d.tenant-%d.example.com:443", i, i % 97);
        if (look(idx, host) != &cfg[i])
            wrong++;
        snprintf(host, sizeof host, "pod-7.ns.svc-%d.internal", i);
        if (look(idx, host) != &cfg[i])
            wrong++;
        snprintf(host, sizeof host, "svc-%d.internal", i); /* apex: not covered */
        if (look(idx, host) != NULL)
            wrong++;
    }
    CU_ASSERT_EQUAL(wrong, 0);
    void *held = NULL;
    CU_ASSERT_EQUAL(hostidx_add(idx, "api-5.tenant-5.example.com", &cfg[1], &held), 1);
    CU_ASSERT_PTR_EQUAL(held, &cfg[5]);
    hostidx_free(idx);
}

int cu_register(void)
{
    static const cu_case cases[] = {
        { "exact", test_exact },
        { "wildcard specificity", test_wildcard_specificity },
        { "wildcard does not cover the apex", test_apex_not_covered },
        { "catch-all", test_catch_all },
        { "port retry", test_port_retry },
        { "conflicts", test_conflicts },
        { "case-insensitive", test_case },
        { "invalid hosts", test_invalid_hosts },
        { "long lookups miss", test_long_lookups_miss },
        { "10,000 AuthConfigs", test_ten_thousand },
        { NULL, NULL },
    };
    return cu_add_suite("hostidx", cases);
}
