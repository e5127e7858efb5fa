/*
 * x509_subject.h - a certificate's subject as the identity object, in the
 * shape Authorino gives it (Go's pkix.Name marshalled to JSON):
 *   {"Country": [..] | null, "Organization", "OrganizationalUnit",
 *    "Locality", "Province", "StreetAddress", "PostalCode",
 *    "SerialNumber": "", "CommonName": "",
 *    "Names": [{"Type": [2,5,4,3], "Value": "..."}, ...], "ExtraNames": null}
 */
#ifndef PC_X509_SUBJECT_H
#define PC_X509_SUBJECT_H

#include <openssl/x509.h>
#include <portcullis/host.h>

/** @return the subject of `cert` built in `ev`, or NULL (out of memory). */
pc_value *x509s_identity(const pc_host *h, pc_eval *ev, X509 *cert);

#endif
