/*
 * identity_json.h: the service-API JSON of registry entities (iothub-protocol.md §8.2, §8.3):
 * Device and Module objects exactly as the service SDKs parse them, and the identity fields
 * that a twin carries (§4.1). Pure: times and etags come in the struct.
 */
#ifndef SH_IDENTITY_JSON_H
#define SH_IDENTITY_JSON_H

#include "core/identity.h"

struct cJSON;

/* Device JSON (module_id empty) or Module JSON. Caller frees (cJSON_Delete); NULL on no memory. */
struct cJSON *identity_to_json(const struct sh_identity *id);

/*
 * The service twin: a new object with the identity fields a twin carries (deviceId, moduleId,
 * deviceEtag, status, statusReason, statusUpdateTime, connectionState, lastActivityTime,
 * cloudToDeviceMessageCount, authenticationType, x509Thumbprint, modelId, capabilities)
 * followed by the items of `view` (twin_service_view: etag, version, tags, properties).
 * Takes ownership of `view`. Caller frees the result; NULL on no memory.
 */
struct cJSON *identity_twin_view(const struct sh_identity *id, struct cJSON *view);

/* "sas", "selfSigned", "certificateAuthority", "none"; and back (-1 when unknown). */
const char *identity_auth_str(enum sh_auth a);
int identity_auth_parse(const char *s);
/* Identity etag text: base64 of the decimal counter ("MQ==" for 1). */
void identity_etag(int64_t counter, char out[32]);

#endif
