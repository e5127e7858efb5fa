/*
 * portcullis/abi.h - versioning rules of the Portcullis plugin ABI, and its
 * changelog.
 *
 * A plugin is a shared object exporting one function, PC_PLUGIN_ENTRY_NAME,
 * that returns a const descriptor (struct pc_plugin, see plugin.h). The
 * descriptor starts with a magic number, the ABI major and minor the plugin
 * was built against and its own size. The host refuses a plugin when:
 *   - the magic is wrong (not a Portcullis plugin, or a corrupt file);
 *   - the major differs from the host's (incompatible layout or semantics);
 *   - the minor is newer than the host's (the plugin may use services the
 *     host does not have);
 *   - a struct_size (of the descriptor, an evaluator, a frontend or a
 *     config hook type)
 *     differs from that struct's size in the minor the plugin claims: the
 *     host keeps the size of every struct in every minor as a number, so a
 *     plugin built with any 1.x headers is recognised exactly.
 *
 * The 1.x promise. Within one major, every struct only grows at its end and
 * every new field or function pointer is added after the existing ones;
 * nothing is removed, reordered or given another meaning. Each addition
 * bumps the minor and is listed below with it. A host reads
 * min(struct_size, what it knows) and treats the missing tail as absent, so
 * a plugin built against 1.0 keeps working on a 1.7 host; a plugin that
 * wants a service added after 1.0 checks for it with PC_HOST_HAS (host.h)
 * and works without it, or fails its create with a reason. Every
 * struct_size is a uint32_t.
 *
 * Changelog (newest first; the date is when the minor was fixed):
 *
 * 1.7 (2026-12-02)
 *   pc_config_hook_type and pc_plugin.config_hooks (pc_plugin grows from
 *   56 to 64 bytes), with PC_PLUGIN_DEFINE_HOOKS: hooks that keep,
 *   rewrite or reject each AuthConfig as it is loaded. The struct_size
 *   of a config hook type is checked like an evaluator type's.
 * 1.6 (2026-12-02)
 *   pc_host.cc_authconfig_spec: the AuthConfig's spec at create time, for
 *   evaluators that name another evaluator of the same AuthConfig.
 * 1.5 (2026-12-01)
 *   pc_host.readiness_render: each AuthConfig's readiness, for a
 *   frontend's /readyz/authconfigs probe.
 * 1.4 (2026-12-01)
 *   pc_request_view.metadata_emit and metadata_arg, with pc_json_sink: a
 *   frontend hands metadata_context to the engine as a structure it
 *   writes into the sink (no JSON text to parse again).
 *   pc_host.http_fetch: outbound HTTP outside an evaluation (at create and
 *   from an instance's own threads, e.g. JWKS refreshes).
 *   pc_host.cc_foreach_resource_in: the resources of one namespace,
 *   through an index.
 * 1.3 (2026-12-01)
 *   PC_AGAIN (pc_status), PC_EVAL_TRY_NONBLOCKING (evaluator flags) and
 *   pc_host.eval_can_block: blocking evaluators may first answer from
 *   memory on an I/O thread.
 *   pc_grpc_code (request.h) names the google.rpc.Code values of
 *   pc_verdict.grpc_code (header only: no layout change).
 *   The struct_size of pc_request_view, pc_verdict, pc_cache_opts and
 *   pc_http_request is a uint32_t, as in every other struct; on LP64 the
 *   layout and, little-endian, the value read are those of 1.0.
 * 1.2 (2026-12-01)
 *   pc_host.base64_decode.
 * 1.1 (2026-12-01)
 *   pc_host.value_keep_json and pc_host.value_release: values an instance
 *   keeps and shares between threads.
 * 1.0 (2026-11-28)
 *   The first layout: pc_plugin, pc_evaluator_type, pc_frontend_type,
 *   pc_host up to and including metrics_request, pc_request_view up to
 *   and including cancel_arg, pc_verdict, pc_cache_opts, pc_http_request.
 *   (Minors 1.1 to 1.3 were numbered on 2026-12-01 for services appended
 *   since 1.0; no plugin had been published with them.)
 */
#ifndef PORTCULLIS_ABI_H
#define PORTCULLIS_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** "PCPL" in ASCII: the first field of every plugin descriptor. */
#define PC_PLUGIN_MAGIC 0x5043504cu

/** Bumped on any incompatible change; a plugin must match it exactly. */
#define PC_ABI_MAJOR 1
/** Bumped when a field or service is appended (see the changelog above);
 *  plugins need <= the host's. */
#define PC_ABI_MINOR 7

/** The symbol every plugin exports (use PC_PLUGIN_DEFINE in plugin.h). */
#define PC_PLUGIN_ENTRY_NAME "portcullis_plugin_v1"

/** Marks the one symbol a plugin exports; everything else may stay hidden. */
#if defined(__GNUC__)
#define PC_EXPORT __attribute__((visibility("default")))
#else
#define PC_EXPORT
#endif

#if defined(__GNUC__)
#define PC_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define PC_PRINTF(fmt, args)
#endif

/** Results of host services and plugin callbacks. */
typedef enum pc_status {
    PC_OK = 0,      /**< success: identity found, access granted, value made */
    PC_DENY = 1,    /**< a definite "no": bad credential, rule not met */
    PC_ERROR = -1,  /**< could not decide (I/O, timeout, bad data): fails closed */
    /** Since 1.3. Only from evaluate when pc_host.eval_can_block says 0 (a
     *  type with PC_EVAL_TRY_NONBLOCKING tried on an I/O thread): the answer
     *  needs blocking work; the engine calls evaluate again on a worker. */
    PC_AGAIN = 2
} pc_status;

#ifdef __cplusplus
}
#endif
#endif /* PORTCULLIS_ABI_H */
