/*
 * label_selector.h - Kubernetes LabelSelector (matchLabels and
 * matchExpressions with In, NotIn, Exists, DoesNotExist), compiled once and
 * matched against a resource's metadata.labels.
 */
#ifndef PC_APIKEY_LABEL_SELECTOR_H
#define PC_APIKEY_LABEL_SELECTOR_H

#include <portcullis/host.h>

typedef struct lsel lsel;

/**
 * Compiles `spec` ({matchLabels: {k: v}, matchExpressions: [{key, operator,
 * values}]}). An empty selector matches everything, as in Kubernetes.
 * @return the selector, or NULL with a one-line reason in err.
 */
lsel *lsel_compile(const pc_host *host, const pc_value *spec, char *err,
                   size_t errlen);

/** 1 if `labels` (an object of strings, or NULL) satisfies every
 *  requirement of `sel`, else 0. */
int lsel_match(const pc_host *host, const lsel *sel, const pc_value *labels);

/** Number of requirements (matchLabels entries + matchExpressions). */
size_t lsel_size(const lsel *sel);

void lsel_free(lsel *sel);

#endif
