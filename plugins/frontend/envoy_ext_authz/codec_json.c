/*
 * codec_json.c - AttributeContext.metadata_context (google.protobuf.Struct
 * values) for the engine: checked whole before anything is built, then
 * written straight into the engine's pc_json_sink, with no JSON text that
 * would be parsed again.
 */
#include <math.h>
#include <string.h>
#include "codec_int.h"
#include "envoy/config/core/v3/base.pb-c.h"
#include "google/protobuf/struct.pb-c.h"

/* ---- the check made before anything is built ---- */

static int check_struct(const Google__Protobuf__Struct *s, int level, int max);

/* 0, or when v (at nesting level `level`) nests deeper than max -1, or -2
 * when it holds a number JSON cannot carry. */
static int check_value(const Google__Protobuf__Value *v, int level, int max)
{
    if (!v)
        return 0;
    switch (v->kind_case) {
    case GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE:
        return isfinite(v->number_value) ? 0 : -2;
    case GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE:
        return check_struct(v->struct_value, level + 1, max);
    case GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE:
        if (level + 1 > max)
            return -1;
        if (v->list_value)
            for (size_t i = 0; i < v->list_value->n_values; i++) {
                int rc = check_value(v->list_value->values[i], level + 1, max);
                if (rc != 0)
                    return rc;
            }
        return 0;
    default:
        return 0;
    }
}

static int check_struct(const Google__Protobuf__Struct *s, int level, int max)
{
    if (level > max)
        return -1;
    if (s)
        for (size_t i = 0; i < s->n_fields; i++) {
            int rc = check_value(s->fields[i]->value, level, max);
            if (rc != 0)
                return rc;
        }
    return 0;
}

int codec_metadata_check(const Envoy__Config__Core__V3__Metadata *md,
                         int max_depth)
{
    for (size_t i = 0; md && i < md->n_filter_metadata; i++) {
        int rc = check_struct(md->filter_metadata[i]->value, 1, max_depth);
        if (rc != 0)
            return rc == -2 ? CODEC_META_NOT_FINITE : CODEC_META_TOO_DEEP;
    }
    return 0;
}

/* ---- writing into the engine's sink ---- */

static int emit_struct(const pc_json_sink *k, const Google__Protobuf__Struct *s);

static int emit_str(const pc_json_sink *k, const char *s,
                    int (*fn)(void *, const char *, size_t))
{
    return fn(k->arg, s ? s : "", s ? strlen(s) : 0);
}

/* Recursion is bounded by codec_metadata_check, which ran first. */
static int emit_value(const pc_json_sink *k, const Google__Protobuf__Value *v)
{
    if (!v)
        return k->null(k->arg);
    switch (v->kind_case) {
    case GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE:
        return k->number(k->arg, v->number_value);
    case GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE:
        /* Strings keep their bytes: the wire check refused NULs, so
         * strlen is their length. */
        return emit_str(k, v->string_value, k->string);
    case GOOGLE__PROTOBUF__VALUE__KIND_BOOL_VALUE:
        return k->boolean(k->arg, v->bool_value);
    case GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE:
        return emit_struct(k, v->struct_value);
    case GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE:
        if (k->array_begin(k->arg) != 0)
            return -1;
        if (v->list_value)
            for (size_t i = 0; i < v->list_value->n_values; i++)
                if (emit_value(k, v->list_value->values[i]) != 0)
                    return -1;
        return k->end(k->arg);
    default: /* null_value, or no kind at all */
        return k->null(k->arg);
    }
}

static int emit_struct(const pc_json_sink *k, const Google__Protobuf__Struct *s)
{
    if (k->object_begin(k->arg) != 0)
        return -1;
    if (s)
        for (size_t i = 0; i < s->n_fields; i++)
            if (emit_str(k, s->fields[i]->key, k->key) != 0 ||
                emit_value(k, s->fields[i]->value) != 0)
                return -1;
    return k->end(k->arg);
}

int codec_metadata_emit(const void *arg, const pc_json_sink *k)
{
    const Envoy__Config__Core__V3__Metadata *md = arg;
    static const char fm[] = "filter_metadata";
    if (k->object_begin(k->arg) != 0 || k->key(k->arg, fm, sizeof fm - 1) != 0 ||
        k->object_begin(k->arg) != 0)
        return -1;
    for (size_t i = 0; md && i < md->n_filter_metadata; i++)
        if (emit_str(k, md->filter_metadata[i]->key, k->key) != 0 ||
            emit_struct(k, md->filter_metadata[i]->value) != 0)
            return -1;
    if (k->end(k->arg) != 0)
        return -1;
    return k->end(k->arg);
}
