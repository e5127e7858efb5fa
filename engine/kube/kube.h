/* kube.h - the Kubernetes API client offered to plugins (pc_host.kube_do):
 * in-cluster service account or kubeconfig, TLS always verified. */
#ifndef PC_KUBE_KUBE_H
#define PC_KUBE_KUBE_H
#include <stddef.h>

/* Configures the client: kubeconfig path (NULL: in-cluster when
 * KUBERNETES_SERVICE_HOST is set, else $KUBECONFIG if set, else none).
 * Returns 0 (also when no cluster is configured) or -1 with a reason. */
int kube_setup(const char *kubeconfig, char *err, size_t errlen);
void kube_teardown(void);
#endif
