/*
 * fuzz_lua.c - the Lua evaluators' value bridge.
 *
 * The input, as a JSON value, becomes metadata_context.filter_metadata.fuzz
 * of a request decided with the Lua plugin. The script walks it through the
 * lazy request view (index, pairs, ipairs, #), converts it to JSON text and
 * back to plain tables (json.encode of a view, json.decode), and compares
 * the two structurally; a response evaluator hands the view back to the
 * host (Lua to JSON). Oracle: no crash or sanitizer report, and never the
 * "bridge mismatch" denial. Limits (budget, memory cap) may deny.
 *
 * The same input is then the `status` of an AuthConfig handed to a Lua
 * config hook, which converts the document to plain tables, round-trips
 * the status through json and returns the table (Lua to JSON outside an
 * evaluation, then the alignment with the original). Oracle: no crash or
 * sanitizer report; a rejection always has a reason.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host/hostimpl.h"
#include <json-c/json.h>

#include "plugin/confhook.h"
#include "plugin/loader.h"
#include "server/submit.h"
#include "snapshot/snapshot.h"
#include "util/log.h"

static const char CONFIG[] =
    "apiVersion: authorino.kuadrant.io/v1beta3\nkind: AuthConfig\n"
    "metadata: {name: bridge, namespace: fuzz}\n"
    "spec:\n"
    "  hosts: [lua.test]\n"
    "  authentication:\n"
    "    public: {anonymous: {}}\n"
    "  authorization:\n"
    "    bridge:\n"
    "      lua:\n"
    "        script: |\n"
    "          local function same(a, b, depth)\n"
    "            if depth > 70 then return true end\n"
    "            if b == json.null then b = nil end\n"
    "            local ta, tb = type(a), type(b)\n"
    "            if ta == 'userdata' or ta == 'table' then\n"
    "              if tb ~= 'table' then return false end\n"
    "              local n = 0\n"
    "              for k, v in pairs(a) do\n"
    "                n = n + 1\n"
    "                if not same(v, b[k], depth + 1) then return false end\n"
    "              end\n"
    "              for i, v in ipairs(a) do assert(v ~= nil) end\n"
    "              local m = 0\n"
    "              for _ in pairs(b) do m = m + 1 end\n"
    "              return n == m and #a == #b\n"
    "            end\n"
    "            return a == b\n"
    "          end\n"
    "          function evaluate()\n"
    "            local v = metadata.filter_metadata.fuzz\n"
    "            local text = json.encode(v)\n"
    "            local plain = json.decode(text)\n"
    "            if type(v) == 'userdata' then\n"
    "              if not same(v, plain, 0) then return false, 'bridge mismatch' end\n"
    "              local again = json.decode(json.encode(plain))\n"
    "              if not same(v, again, 0) then return false, 'bridge mismatch' end\n"
    "            elseif v ~= plain and v == v then\n"
    "              return false, 'bridge mismatch'\n"
    "            end\n"
    "            return true\n"
    "          end\n"
    "  response:\n"
    "    success:\n"
    "      dynamicMetadata:\n"
    "        echo:\n"
    "          lua:\n"
    "            script: |\n"
    "              function evaluate() return {v = metadata.filter_metadata.fuzz} end\n";

static snapshot *g_snap;

static void setup(void)
{
    plog_setup(PC_LOG_ERROR, PLOG_TEXT);
    if (loader_load_dir(PC_FUZZ_PLUGIN_DIR, NULL, NULL) != 0)
        abort();
    char path[] = "/tmp/fuzz-lua-XXXXXX.yaml";
    int fd = mkstemps(path, 5);
    if (fd < 0 || write(fd, CONFIG, sizeof CONFIG - 1) != (ssize_t)(sizeof CONFIG - 1))
        abort();
    close(fd);
    const char *paths[] = {path};
    g_snap = snapshot_load(host_table(), paths, 1, NULL);
    unlink(path);
    if (!g_snap || g_snap->n_configs != 1 || g_snap->errors) {
        fprintf(stderr, "fuzz_lua: the AuthConfig does not load (is the Lua plugin built?)\n");
        abort();
    }
    static const char hook[] =
        "function on_load(ac)\n"
        "  ac.status = json.decode(json.encode(ac.status))\n"
        "  for k, v in pairs(ac) do if type(v) == 'table' then local _ = #v end end\n"
        "  return ac\n"
        "end\n";
    char hpath[] = "/tmp/fuzz-lua-hook-XXXXXX.lua", spec[64], err[600];
    fd = mkstemps(hpath, 4);
    if (fd < 0 || write(fd, hook, sizeof hook - 1) != (ssize_t)(sizeof hook - 1))
        abort();
    close(fd);
    snprintf(spec, sizeof spec, "lua:%s", hpath);
    if (confhook_add_spec(host_table(), spec, err, sizeof err) != 0) {
        fprintf(stderr, "fuzz_lua: %s\n", err);
        abort();
    }
    unlink(hpath);
}

static void fuzz_hook(const uint8_t *data, size_t size)
{
    static char doc[(1 << 16) + 256];
    static const char pre[] =
        "{\"apiVersion\":\"authorino.kuadrant.io/v1beta3\",\"kind\":\"AuthConfig\","
        "\"metadata\":{\"name\":\"f\",\"namespace\":\"fuzz\"},"
        "\"spec\":{\"hosts\":[\"f.test\"]},\"status\":";
    if (size > sizeof doc - sizeof pre - 2)
        return;
    memcpy(doc, pre, sizeof pre - 1);
    memcpy(doc + sizeof pre - 1, data, size);
    doc[sizeof pre - 1 + size] = '}';
    struct json_tokener *tok = json_tokener_new();
    if (!tok)
        return;
    struct json_object *o = json_tokener_parse_ex(tok, doc, (int)(sizeof pre + size));
    int ok = json_tokener_get_error(tok) == json_tokener_success &&
             json_object_is_type(o, json_type_object);
    json_tokener_free(tok);
    if (ok) {
        struct json_object *out = NULL;
        char why[1024] = "";
        if (confhook_apply(o, &out, why, sizeof why) == 0) {
            if (!json_object_is_type(out, json_type_object))
                abort();
        } else if (!why[0]) {
            fprintf(stderr, "fuzz_lua: a hook rejection without a reason\n");
            abort();
        }
        json_object_put(out);
    }
    json_object_put(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char buf[1 << 16];
    static const char pre[] = "{\"filter_metadata\":{\"fuzz\":";
    if (!g_snap)
        setup();
    if (size > sizeof buf - sizeof pre - 4)
        return 0;
    memcpy(buf, pre, sizeof pre - 1);
    memcpy(buf + sizeof pre - 1, data, size);
    memcpy(buf + sizeof pre - 1 + size, "}}", 2);
    pc_request_view v;
    memset(&v, 0, sizeof v);
    v.struct_size = sizeof v;
    v.method = pc_str_c("GET");
    v.path = pc_str_c("/");
    v.host = pc_str_c("lua.test");
    v.metadata_context_json.ptr = buf;
    v.metadata_context_json.len = sizeof pre - 1 + size + 2;
    pipe_result r;
    submit_decide(g_snap, &v, 0, &r);
    if (r.reason && strstr(r.reason, "bridge mismatch")) {
        fprintf(stderr, "fuzz_lua: the view and its JSON round trip differ\n");
        abort();
    }
    pipe_result_free(&r);
    fuzz_hook(data, size);
    return 0;
}
