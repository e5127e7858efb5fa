/*
 * portcullis/plugin.h - what a plugin exports: its descriptor, the evaluator
 * types it provides and, for network plugins, a frontend; since 1.7, config
 * hooks that see each AuthConfig as it is loaded.
 *
 * Minimal evaluator plugin:
 *
 *     #include <portcullis/plugin.h>
 *
 *     static pc_status allow_all(void *inst, pc_eval *ev) { return PC_OK; }
 *     static const pc_evaluator_type allow_type = {
 *         .struct_size = sizeof(pc_evaluator_type),
 *         .phase = PC_PHASE_AUTHORIZATION,
 *         .name = "allowAll",
 *         .evaluate = allow_all,
 *     };
 *     static const pc_evaluator_type *const types[] = { &allow_type, NULL };
 *     PC_PLUGIN_DEFINE("allow-all", "1.0.0", "Grants every request", types, NULL);
 *
 * Threads: create/destroy run on the control thread, never concurrently with
 * evaluate on the same instance. evaluate runs on many threads at once with
 * one instance: keep instances read-only after create, or lock inside.
 */
#ifndef PORTCULLIS_PLUGIN_H
#define PORTCULLIS_PLUGIN_H

#include "abi.h"
#include "host.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The pipeline phase an evaluator type belongs to; also the AuthConfig
 *  section (`authentication`, `metadata`, ...) its name is looked up in. */
typedef enum pc_phase {
    PC_PHASE_IDENTITY = 0,      /**< spec.authentication: who is calling */
    PC_PHASE_METADATA = 1,      /**< spec.metadata: extra facts, never denies */
    PC_PHASE_AUTHORIZATION = 2, /**< spec.authorization: all must grant */
    PC_PHASE_RESPONSE = 3,      /**< spec.response.success.{headers,dynamicMetadata} */
    PC_PHASE_CALLBACK = 4,      /**< spec.callbacks: after the decision */
    PC_PHASE_COUNT_ = 5
} pc_phase;

/** Flags of an evaluator type. */
enum {
    /** evaluate may wait on the network or disk. Pipelines using it run on
     *  the worker pool, never on an I/O thread. */
    PC_EVAL_MAY_BLOCK = 1u << 0,
    /** Identity only: the evaluator reads a credential (see
     *  pc_host.eval_credential). The engine extracts it according to the
     *  evaluator's `credentials` setting and denies with
     *  "credential not found" before evaluate when it is absent. */
    PC_EVAL_NEEDS_CREDENTIAL = 1u << 1,
    /** The evaluator reads the deprecated `context` subtree (Envoy's raw
     *  AttributeContext) of the Authorization JSON. The engine builds that
     *  subtree only for AuthConfigs whose selectors mention it or that use
     *  an evaluator with this flag. */
    PC_EVAL_NEEDS_CONTEXT = 1u << 2,
    /** Since 1.3. With PC_EVAL_MAY_BLOCK: the engine first calls evaluate
     *  on the I/O thread, where pc_host.eval_can_block returns 0. Answer
     *  from memory (e.g. cache_lookup with a NULL fill) or return PC_AGAIN,
     *  and the request moves to the worker pool, which continues at this
     *  evaluator (the ones before it do not run again). Cache hits then
     *  cost no thread hop. A host before 1.3 ignores the flag. */
    PC_EVAL_TRY_NONBLOCKING = 1u << 3
};

/** One evaluator type: the method key users write in an AuthConfig, e.g.
 *  `authentication: {NAME: {kubernetesTokenReview: {...}}}`. */
typedef struct pc_evaluator_type {
    /** sizeof(pc_evaluator_type) as the plugin was compiled. */
    uint32_t struct_size;
    /** PC_EVAL_* flags. */
    uint32_t flags;
    /** Which AuthConfig section this type may appear in. */
    pc_phase phase;
    /** The method key, e.g. "apiKey". Unique among loaded plugins per phase. */
    const char *name;
    /** JSON Schema (subset: type, properties, required, items, enum, default,
     *  minimum, maximum, pattern, additionalProperties) for the method's
     *  config object, as JSON text; NULL accepts anything. The host checks
     *  each instance's config against it before create and reports errors
     *  with file, line and path (a field the schema does not declare under
     *  additionalProperties: false is an error too), so create may trust the
     *  shape. create then sees the config with every `default` filled in
     *  where the field was left out; a default must pass its own schema or
     *  the plugin does not load. */
    const char *config_schema;
    /** For PC_PHASE_IDENTITY: the WWW-Authenticate scheme to challenge with
     *  when the credential location gives none (e.g. "Certificate"); NULL
     *  uses the credential prefix/name as Authorino does. */
    const char *challenge;

    /**
     * Makes an instance from one evaluator's config (control thread).
     * @param host   the services table, valid for the life of the process.
     * @param cc     describes where this instance lives (AuthConfig name,
     *               namespace, evaluator name); only valid during create.
     * @param config the method's config object, borrowed during create;
     *               copy what you keep.
     * @param err    on failure write a one-line reason (no file/line: the
     *               host adds them), then return NULL.
     * @return the instance (opaque to the host) or NULL on failure. An
     *         evaluator without state may return any non-NULL pointer.
     */
    void *(*create)(const pc_host *host, pc_create_ctx *cc,
                    const pc_value *config, char *err, size_t errlen);
    /** Frees an instance once no evaluation uses it (control thread). */
    void (*destroy)(void *instance);
    /**
     * Decides for one request (any thread, concurrently).
     * Read the request with host->eval_root / selectors, publish the result
     * object with host->eval_set_output and explain denials with
     * host->eval_set_reason.
     * @return PC_OK (identity found / granted / value produced), PC_DENY
     *         (a definite no), PC_ERROR (could not decide: fails closed).
     */
    pc_status (*evaluate)(void *instance, pc_eval *ev);
} pc_evaluator_type;

/** A frontend: the network side (listeners, protocols) as a plugin. It turns
 *  requests into pc_request_view, calls host->submit and renders verdicts. */
typedef struct pc_frontend_type {
    uint32_t struct_size;
    /** e.g. "envoy_ext_authz". */
    const char *name;
    /** Schema of the frontend's config (from the server config file). */
    const char *config_schema;
    /** Control thread: parse config, prepare (do not bind yet). */
    void *(*create)(const pc_host *host, const pc_value *config,
                    char *err, size_t errlen);
    /** Control thread: bind listeners and start I/O threads; returns
     *  PC_OK or PC_ERROR with a reason in err. */
    pc_status (*start)(void *fe, char *err, size_t errlen);
    /** Control thread: stop accepting, finish in-flight requests for at
     *  most grace_ms, then close everything. Blocks until done. */
    void (*stop)(void *fe, int64_t grace_ms);
    void (*destroy)(void *fe);
} pc_frontend_type;

/**
 * Since 1.7. A config hook: sees every AuthConfig as it is loaded, before it
 * is compiled, and may keep it, rewrite it or reject it. Users name it in
 * the server config (`configHooks: [{NAME: {...}}]`) or with
 * `--config-hook NAME:FILE` (the config `{"file": FILE}`); several hooks run
 * in the order given, each seeing what the one before returned.
 *
 * A hook runs on the control thread at load time (file mode, each reload,
 * and each AuthConfig the controller receives from the Kubernetes API),
 * never on the request path; loads may happen on more than one control
 * thread, so keep the instance read-only after create, as an evaluator's.
 */
typedef struct pc_config_hook_type {
    /** sizeof(pc_config_hook_type) as the plugin was compiled. */
    uint32_t struct_size;
    /** No flags are defined yet: zero. */
    uint32_t flags;
    /** The name users write, e.g. "lua". Unique among loaded plugins. */
    const char *name;
    /** JSON Schema of the hook's config, as for evaluators (checked, with
     *  defaults filled in, before create); NULL accepts anything. */
    const char *config_schema;
    /**
     * Makes the hook from its config (control thread, at start-up).
     * @return the instance, or NULL with a one-line reason in err: the
     *         server does not start.
     */
    void *(*create)(const pc_host *host, const pc_value *config, char *err,
                    size_t errlen);
    /** Frees the instance (control thread, at exit). */
    void (*destroy)(void *hook);
    /**
     * Looks at one AuthConfig (control thread).
     * host->eval_root(ev) is the AuthConfig document (apiVersion, kind,
     * metadata, spec), borrowed for the call. Build values with the
     * value_* services on ev; they belong to the call.
     * @return PC_OK to accept it: unchanged, or rewritten when the hook
     *         publishes the whole new document with host->eval_set_output
     *         (it is then checked exactly as a hand-written AuthConfig:
     *         unknown fields are errors);
     *         PC_DENY to reject it, with the reason from
     *         host->eval_set_reason;
     *         PC_ERROR when the hook failed (a reason likewise): the
     *         AuthConfig is rejected too.
     *         A rejected AuthConfig is reported as a config error at its
     *         source (file:line, or its status in controller mode) and
     *         does not load; the others do.
     */
    pc_status (*on_load)(void *hook, pc_eval *ev);
} pc_config_hook_type;

/** The descriptor PC_PLUGIN_ENTRY_NAME returns. Static, const, never freed. */
typedef struct pc_plugin {
    uint32_t magic;        /**< PC_PLUGIN_MAGIC */
    uint16_t abi_major;    /**< PC_ABI_MAJOR as compiled */
    uint16_t abi_minor;    /**< PC_ABI_MINOR as compiled */
    uint32_t struct_size;  /**< sizeof(pc_plugin) as compiled */
    uint32_t reserved_;    /**< zero */
    const char *name;      /**< short name, e.g. "kubernetes_tokenreview" */
    const char *version;   /**< the plugin's own version, e.g. "1.2.0" */
    const char *description;
    /** NULL-terminated list of evaluator types, or NULL. */
    const pc_evaluator_type *const *evaluators;
    /** NULL-terminated list of frontends, or NULL. */
    const pc_frontend_type *const *frontends;
    /** Since 1.7: NULL-terminated list of config hooks, or NULL (a host
     *  reads it only from plugins built for 1.7 or later). */
    const pc_config_hook_type *const *config_hooks;
} pc_plugin;

/** Signature of the entry point. */
typedef const pc_plugin *(*pc_plugin_entry_fn)(void);

/** Defines the entry point and descriptor in one line. In C++, write it
 *  inside extern "C" { } so the entry point keeps its unmangled name. */
#define PC_PLUGIN_DEFINE(name_, version_, description_, evaluators_, frontends_) \
    PC_PLUGIN_DEFINE_HOOKS(name_, version_, description_, evaluators_,          \
                           frontends_, NULL)

/** Since 1.7: PC_PLUGIN_DEFINE with a list of config hooks as well. */
#define PC_PLUGIN_DEFINE_HOOKS(name_, version_, description_, evaluators_,      \
                               frontends_, config_hooks_)                       \
    PC_EXPORT const pc_plugin *portcullis_plugin_v1(void);                       \
    const pc_plugin *portcullis_plugin_v1(void)                                  \
    {                                                                            \
        static const pc_plugin desc_ = {                                         \
            PC_PLUGIN_MAGIC, PC_ABI_MAJOR, PC_ABI_MINOR,                         \
            (uint32_t)sizeof(pc_plugin), 0u,                                     \
            (name_), (version_), (description_), (evaluators_), (frontends_),   \
            (config_hooks_)};                                                    \
        return &desc_;                                                           \
    }

#ifdef __cplusplus
}
#endif
#endif /* PORTCULLIS_PLUGIN_H */
