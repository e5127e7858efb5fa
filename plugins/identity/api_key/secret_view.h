/*
 * secret_view.h - what the apiKey identity takes from a Kubernetes Secret:
 * its key (data.api_key or stringData.api_key) and a JSON rendering safe to
 * hand out as the identity object.
 */
#ifndef PC_APIKEY_SECRET_VIEW_H
#define PC_APIKEY_SECRET_VIEW_H

#include <portcullis/host.h>

/** The entry of Secret.data / Secret.stringData that holds the key. */
#define SVIEW_KEY_NAME "api_key"

/**
 * Copies the Secret's key into a new buffer (*out, free() it). stringData
 * wins over data, as the API server merges them on write; data is base64.
 * @return 0 found (*out, *out_len set), 1 no key or an empty one,
 *         -1 data.api_key is not valid base64 or out of memory.
 */
int sview_api_key(const pc_host *host, const pc_value *secret,
                  unsigned char **out, size_t *out_len);

/**
 * Renders the Secret as compact JSON without `data`, `stringData` and the
 * `kubectl.kubernetes.io/last-applied-configuration` annotation (kubectl
 * copies the whole manifest, keys included, into it).
 * @return a new NUL-terminated string (free() it) or NULL on failure.
 */
char *sview_render(const pc_host *host, const pc_value *secret, size_t *len);


#endif
