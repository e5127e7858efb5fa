/*
 * portcullis/abi.h - versioning rules of the Portcullis plugin ABI.
 *
 * A plugin is a shared object exporting one function, PC_PLUGIN_ENTRY_NAME,
 * that returns a const descriptor (struct pc_plugin, see plugin.h). The
 * descriptor starts with a magic number, the ABI major and minor the plugin
 * was built against and its own size. The host refuses a plugin when:
 *   - the magic is wrong (not a Portcullis plugin, or a corrupt file);
 *   - the major differs from the host's (incompatible layout or semantics);
 *   - the minor is newer than the host's (the plugin may use services the
 *     host does not have);
 *   - struct_size is smaller than the v1.0 layout or, for the same minor,
 *     differs from the size the host knows (built with other headers).
 *
 * Within one major, every struct only grows at its end and every new field
 * or function pointer is added after the existing ones. A host reads
 * min(struct_size, what it knows) and treats the missing tail as absent, so a
 * plugin built against 1.0 keeps working on a 1.7 host.
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
/** Bumped when a field or service is appended; plugins need <= the host's. */
#define PC_ABI_MINOR 1

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
    /** Only from evaluate when pc_host.eval_can_block says 0 (a type with
     *  PC_EVAL_TRY_NONBLOCKING tried on an I/O thread): the answer needs
     *  blocking work; the engine calls evaluate again on a worker. */
    PC_AGAIN = 2
} pc_status;

#ifdef __cplusplus
}
#endif
#endif /* PORTCULLIS_ABI_H */
