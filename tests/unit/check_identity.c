/*
 * check_identity.c: the registry entities' pure pieces: the service-API JSON of devices and
 * modules (core/identity_json), the twin's identity fields, auth names, identity etags, and
 * the IoT Hub error catalog (core/iothub_error).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/identity_json.h"
#include "core/iothub_error.h"

static struct sh_identity device(void)
{
	struct sh_identity id;
	memset(&id, 0, sizeof id);
	strcpy(id.device_id, "dev1");
	strcpy(id.generation_id, "638123456789012345");
	id.etag_counter = 1;
	strcpy(id.primary_key, "AAAAAAAAAAAAAAAAAAAAAA==");
	strcpy(id.secondary_key, "AQEBAQEBAQEBAQEBAQEBAQ==");
	return id;
}

static const char *str(const cJSON *o, const char *path)
{
	/* "a.b.c" walk; NULL when absent or not a string */
	char buf[128];
	strcpy(buf, path);
	const cJSON *cur = o;
	for (char *tok = strtok(buf, "."); tok && cur; tok = strtok(NULL, "."))
		cur = cJSON_GetObjectItemCaseSensitive(cur, tok);
	return cJSON_IsString(cur) ? cur->valuestring : NULL;
}

START_TEST(identity_to_json_device_has_service_api_shape)
{
	struct sh_identity id = device();
	cJSON *j = identity_to_json(&id);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(str(j, "deviceId"), "dev1");
	ck_assert_str_eq(str(j, "generationId"), "638123456789012345");
	ck_assert_str_eq(str(j, "etag"), "MQ==");
	ck_assert_str_eq(str(j, "status"), "enabled");
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(j, "statusReason")));
	ck_assert_str_eq(str(j, "connectionState"), "Disconnected");
	ck_assert_str_eq(str(j, "statusUpdatedTime"), "0001-01-01T00:00:00Z");
	ck_assert_str_eq(str(j, "connectionStateUpdatedTime"), "0001-01-01T00:00:00Z");
	ck_assert_str_eq(str(j, "lastActivityTime"), "0001-01-01T00:00:00Z");
	ck_assert_str_eq(str(j, "authentication.type"), "sas");
	ck_assert_str_eq(str(j, "authentication.symmetricKey.primaryKey"), "AAAAAAAAAAAAAAAAAAAAAA==");
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(
		cJSON_GetObjectItem(cJSON_GetObjectItem(j, "authentication"), "x509Thumbprint"),
		"primaryThumbprint")));
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "capabilities"), "iotEdge")));
	ck_assert_int_eq(cJSON_GetObjectItem(j, "cloudToDeviceMessageCount")->valueint, 0);
	ck_assert_ptr_null(cJSON_GetObjectItem(j, "moduleId"));
	ck_assert_ptr_null(cJSON_GetObjectItem(j, "statusUpdateTime")); /* the twin's spelling */
	cJSON_Delete(j);
}
END_TEST

START_TEST(identity_to_json_module_and_x509_fields)
{
	struct sh_identity id = device();
	strcpy(id.module_id, "azureiotsecurity");
	strcpy(id.managed_by, "IotEdge");
	id.auth_type = SH_AUTH_SELF_SIGNED;
	id.primary_key[0] = id.secondary_key[0] = '\0';
	strcpy(id.primary_thumbprint, "0A1B2C3D4E5F60718293A4B5C6D7E8F901234567");
	id.connected = true;
	id.connection_state_updated_us = 1743501600123456LL; /* 2025-04-01T10:00:00.123456Z */
	id.etag_counter = 12;
	cJSON *j = identity_to_json(&id);
	ck_assert_str_eq(str(j, "moduleId"), "azureiotsecurity");
	ck_assert_str_eq(str(j, "managedBy"), "IotEdge");
	ck_assert_str_eq(str(j, "deviceId"), "dev1");
	ck_assert_str_eq(str(j, "etag"), "MTI=");
	ck_assert_str_eq(str(j, "connectionState"), "Connected");
	ck_assert_str_eq(str(j, "connectionStateUpdatedTime"), "2025-04-01T10:00:00.1234560Z");
	ck_assert_str_eq(str(j, "authentication.type"), "selfSigned");
	ck_assert_str_eq(str(j, "authentication.x509Thumbprint.primaryThumbprint"),
			 "0A1B2C3D4E5F60718293A4B5C6D7E8F901234567");
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(
		cJSON_GetObjectItem(cJSON_GetObjectItem(j, "authentication"), "symmetricKey"), "primaryKey")));
	/* modules carry no status or capabilities in the registry JSON */
	ck_assert_ptr_null(cJSON_GetObjectItem(j, "status"));
	ck_assert_ptr_null(cJSON_GetObjectItem(j, "capabilities"));
	cJSON_Delete(j);
}
END_TEST

START_TEST(identity_twin_view_puts_identity_fields_first)
{
	struct sh_identity id = device();
	id.status = SH_STATUS_DISABLED;
	strcpy(id.status_reason, "lost");
	cJSON *view = cJSON_Parse("{\"etag\":\"AAAAAAAAAAE=\",\"version\":2,\"tags\":{},"
				  "\"properties\":{\"desired\":{},\"reported\":{}}}");
	cJSON *t = identity_twin_view(&id, view); /* takes view */
	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(t->child->string, "deviceId");
	ck_assert_str_eq(str(t, "deviceEtag"), "MQ==");
	ck_assert_str_eq(str(t, "status"), "disabled");
	ck_assert_str_eq(str(t, "statusReason"), "lost");
	ck_assert_str_eq(str(t, "statusUpdateTime"), "0001-01-01T00:00:00Z");
	ck_assert_str_eq(str(t, "authenticationType"), "sas");
	ck_assert_str_eq(str(t, "modelId"), "");
	ck_assert_str_eq(str(t, "etag"), "AAAAAAAAAAE=");
	ck_assert_int_eq(cJSON_GetObjectItem(t, "version")->valueint, 2);
	ck_assert_ptr_nonnull(cJSON_GetObjectItem(cJSON_GetObjectItem(t, "properties"), "desired"));
	ck_assert_ptr_null(cJSON_GetObjectItem(t, "generationId")); /* not part of a twin */
	ck_assert_ptr_null(cJSON_GetObjectItem(t, "statusUpdatedTime"));
	cJSON_Delete(t);
	/* a module twin names its module */
	strcpy(id.module_id, "m1");
	t = identity_twin_view(&id, cJSON_CreateObject());
	ck_assert_str_eq(str(t, "moduleId"), "m1");
	ck_assert_ptr_null(cJSON_GetObjectItem(t, "capabilities"));
	cJSON_Delete(t);
	/* a NULL view (allocation failure upstream) still gives the identity part */
	t = identity_twin_view(&id, NULL);
	ck_assert_str_eq(str(t, "deviceId"), "dev1");
	cJSON_Delete(t);
}
END_TEST

START_TEST(identity_auth_str_parse_round_trip)
{
	for (int a = SH_AUTH_SAS; a <= SH_AUTH_NONE; a++)
		ck_assert_int_eq(identity_auth_parse(identity_auth_str((enum sh_auth)a)), a);
	ck_assert_int_eq(identity_auth_parse("SAS"), -1);
	ck_assert_int_eq(identity_auth_parse(""), -1);
	ck_assert_int_eq(identity_auth_parse("x509"), -1);
}
END_TEST

START_TEST(identity_etag_is_base64_of_decimal)
{
	char out[32];
	identity_etag(1, out);
	ck_assert_str_eq(out, "MQ==");
	identity_etag(10, out);
	ck_assert_str_eq(out, "MTA=");
	identity_etag(123, out);
	ck_assert_str_eq(out, "MTIz");
	identity_etag(INT64_MAX, out);
	ck_assert_str_eq(out, "OTIyMzM3MjAzNjg1NDc3NTgwNw==");
}
END_TEST

START_TEST(identity_validate_id_rules)
{
	ck_assert_int_eq(identity_validate_id("dev1", 4), SH_OK);
	ck_assert_int_eq(identity_validate_id("-._%*?!(),:=@$'", 15), SH_OK);
	ck_assert_int_ne(identity_validate_id("", 0), SH_OK);
	ck_assert_int_ne(identity_validate_id("a#", 2), SH_OK);
	ck_assert_int_ne(identity_validate_id("a+", 2), SH_OK);
	ck_assert_int_ne(identity_validate_id("a/b", 3), SH_OK);
	ck_assert_int_ne(identity_validate_id("a\0b", 3), SH_OK);
	char id[130];
	memset(id, 'x', sizeof id);
	ck_assert_int_eq(identity_validate_id(id, 128), SH_OK);
	ck_assert_int_ne(identity_validate_id(id, 129), SH_OK);
}
END_TEST

START_TEST(iothub_error_names_and_statuses)
{
	ck_assert_str_eq(iothub_error_name(IOTHUB_DEVICE_NOT_FOUND), "DeviceNotFound");
	ck_assert_str_eq(iothub_error_name(IOTHUB_PRECONDITION_FAILED), "PreconditionFailed");
	ck_assert_str_eq(iothub_error_name(IOTHUB_DEVICE_MESSAGE_LOCK_LOST), "DeviceMessageLockLost");
	ck_assert_str_eq(iothub_error_name((enum iothub_error)999999), "ServerError");
	ck_assert_int_eq(iothub_error_http_status(IOTHUB_DEVICE_NOT_FOUND), 404);
	ck_assert_int_eq(iothub_error_http_status(IOTHUB_PRECONDITION_FAILED), 412);
	ck_assert_int_eq(iothub_error_http_status(IOTHUB_GATEWAY_TIMEOUT), 504);
	ck_assert_int_eq(iothub_error_http_status(IOTHUB_OK), 500);
	ck_assert_int_eq(iothub_error_http_status((enum iothub_error)123), 500);
	struct iothub_err e;
	ck_assert_int_eq(iothub_err_set(&e, IOTHUB_ARGUMENT_INVALID, "bad %s %d", "id", 7),
			 IOTHUB_ARGUMENT_INVALID);
	ck_assert_int_eq(e.code, IOTHUB_ARGUMENT_INVALID);
	ck_assert_str_eq(e.message, "bad id 7");
	ck_assert_int_eq(iothub_err_set(NULL, IOTHUB_SERVER_ERROR, "x"), IOTHUB_SERVER_ERROR);
	char big[600];
	memset(big, 'm', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	iothub_err_set(&e, IOTHUB_SERVER_ERROR, "%s", big); /* truncated, terminated */
	ck_assert_uint_eq(strlen(e.message), sizeof e.message - 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("identity");
	TCase *tc = tcase_create("identity_json");
	tcase_add_test(tc, identity_to_json_device_has_service_api_shape);
	tcase_add_test(tc, identity_to_json_module_and_x509_fields);
	tcase_add_test(tc, identity_twin_view_puts_identity_fields_first);
	tcase_add_test(tc, identity_auth_str_parse_round_trip);
	tcase_add_test(tc, identity_etag_is_base64_of_decimal);
	suite_add_tcase(s, tc);
	tc = tcase_create("identity");
	tcase_add_test(tc, identity_validate_id_rules);
	suite_add_tcase(s, tc);
	tc = tcase_create("iothub_error");
	tcase_add_test(tc, iothub_error_names_and_statuses);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
