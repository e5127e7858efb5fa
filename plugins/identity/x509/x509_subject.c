/*
 * x509_subject.c - pkix.Name's JSON from an X509_NAME.
 *
 * Go fills the named fields from the RDN sequence in order: list fields
 * collect every value of their attribute, CommonName and SerialNumber keep
 * the last one, and Names lists every attribute with its OID as an array
 * of integers. Lists without a value are null, as Go marshals nil slices.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/objects.h>

#include "x509_subject.h"

enum { XS_C, XS_O, XS_OU, XS_L, XS_ST, XS_STREET, XS_PC, XS_LISTS };

static const struct {
    int nid;
    const char *key;
} xs_lists[XS_LISTS] = {
    [XS_C] = {NID_countryName, "Country"},
    [XS_O] = {NID_organizationName, "Organization"},
    [XS_OU] = {NID_organizationalUnitName, "OrganizationalUnit"},
    [XS_L] = {NID_localityName, "Locality"},
    [XS_ST] = {NID_stateOrProvinceName, "Province"},
    [XS_STREET] = {NID_streetAddress, "StreetAddress"},
    [XS_PC] = {NID_postalCode, "PostalCode"},
};

/* The OID's arcs as [2,5,4,3]. */
static pc_value *xs_oid(const pc_host *h, pc_eval *ev, const ASN1_OBJECT *o)
{
    char txt[128];
    pc_value *arr = h->value_new_array(ev);
    int n = OBJ_obj2txt(txt, sizeof txt, o, 1);

    if (!arr || n <= 0 || (size_t)n >= sizeof txt)
        return arr;
    for (char *p = txt; *p;) {
        char *end;
        long long arc = strtoll(p, &end, 10);
        pc_value *iv = h->value_new_int(ev, arc);
        if (end == p || !iv || h->value_append(arr, iv) != PC_OK)
            return NULL;
        p = *end == '.' ? end + 1 : end;
        if (*end && *end != '.')
            break;
    }
    return arr;
}

pc_value *x509s_identity(const pc_host *h, pc_eval *ev, X509 *cert)
{
    const X509_NAME *name = X509_get_subject_name(cert);
    pc_value *obj = h->value_new_object(ev);
    pc_value *names = h->value_new_array(ev);
    pc_value *lists[XS_LISTS] = {0};
    pc_value *cn = NULL, *serial = NULL;
    int count = X509_NAME_entry_count(name);

    if (!obj || !names)
        return NULL;
    for (int i = 0; i < count; i++) {
        const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
        const ASN1_OBJECT *o = X509_NAME_ENTRY_get_object(e);
        unsigned char *utf8 = NULL;
        int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
        int nid = OBJ_obj2nid(o);
        pc_value *tv, *one, *str, *str2;

        if (len < 0)
            continue; /* not a string: Go keeps it raw, there is no text */
        str = h->value_new_string(ev, (const char *)utf8, (size_t)len);
        str2 = h->value_new_string(ev, (const char *)utf8, (size_t)len);
        OPENSSL_free(utf8);
        tv = xs_oid(h, ev, o);
        one = h->value_new_object(ev);
        if (!str || !str2 || !tv || !one || h->value_set(one, "Type", tv) != PC_OK ||
            h->value_set(one, "Value", str) != PC_OK ||
            h->value_append(names, one) != PC_OK)
            return NULL;
        if (nid == NID_commonName) {
            cn = str2;
            continue;
        }
        if (nid == NID_serialNumber) {
            serial = str2;
            continue;
        }
        for (int k = 0; k < XS_LISTS; k++) {
            if (xs_lists[k].nid != nid)
                continue;
            if (!lists[k] && !(lists[k] = h->value_new_array(ev)))
                return NULL;
            if (h->value_append(lists[k], str2) != PC_OK)
                return NULL;
            break;
        }
    }
    for (int k = 0; k < XS_LISTS; k++) {
        /* A NULL value is JSON null to value_set. */
        if (h->value_set(obj, xs_lists[k].key, lists[k]) != PC_OK)
            return NULL;
    }
    if (!serial)
        serial = h->value_new_string(ev, "", 0);
    if (!cn)
        cn = h->value_new_string(ev, "", 0);
    if (!serial || !cn ||
        h->value_set(obj, "SerialNumber", serial) != PC_OK ||
        h->value_set(obj, "CommonName", cn) != PC_OK ||
        h->value_set(obj, "Names", names) != PC_OK ||
        h->value_set(obj, "ExtraNames", NULL) != PC_OK)
        return NULL;
    return obj;
}
