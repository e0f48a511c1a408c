/*
 * check_hub.c: the hub's registry, policies, connection strings, twins and fixture loading,
 * driven over a real store on ":memory:" with a fake clock and a counting random source.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/base64.h"
#include "core/fixture.h"
#include "hub/hub.h"
#include "store/store.h"

static int64_t fake_now = 1700000000000000LL; /* 2023-11-14T22:13:20Z */
static uint8_t rnd_next;

static int64_t env_now(void *ctx)
{
	(void)ctx;
	return fake_now;
}

static void env_random(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	for (size_t i = 0; i < len; i++)
		buf[i] = rnd_next++;
}

static const struct sh_hub_env env = {env_now, env_random, NULL};
static struct sh_store *st;
static struct sh_hub *hub;
static struct iothub_err err;

static void setup(void)
{
	char msg[256];
	ck_assert_int_eq(store_open(":memory:", &st, msg, sizeof msg), SH_OK);
	ck_assert_int_eq(hub_open(st, &env, &hub, &err), SH_OK);
	memset(&err, 0, sizeof err);
}

static void teardown(void)
{
	hub_close(hub);
	store_close(st);
}

static struct sh_identity req_device(const char *id)
{
	struct sh_identity r;
	memset(&r, 0, sizeof r);
	snprintf(r.device_id, sizeof r.device_id, "%s", id);
	return r;
}

static struct sh_identity req_module(const char *dev, const char *mod)
{
	struct sh_identity r = req_device(dev);
	snprintf(r.module_id, sizeof r.module_id, "%s", mod);
	return r;
}

static void add_device(const char *id)
{
	struct sh_identity r = req_device(id);
	ck_assert_int_eq(hub_identity_create(hub, &r, NULL, &err), SH_OK);
}

/* --- policies ---------------------------------------------------------------------------------- */

START_TEST(hub_open_fresh_store_creates_default_policies)
{
	static const struct {
		const char *name;
		unsigned rights;
	} want[] = {
		{"iothubowner", 15}, {"service", SH_RIGHT_SERVICE_CONNECT},
		{"device", SH_RIGHT_DEVICE_CONNECT}, {"registryRead", SH_RIGHT_REGISTRY_READ},
		{"registryReadWrite", SH_RIGHT_REGISTRY_READ | SH_RIGHT_REGISTRY_WRITE},
	};
	for (size_t i = 0; i < 5; i++) {
		struct sh_policy p;
		ck_assert_int_eq(hub_policy_get(hub, want[i].name, &p, &err), SH_OK);
		ck_assert_uint_eq(p.rights, want[i].rights);
		uint8_t raw[64];
		size_t n;
		ck_assert_int_eq(base64_decode(p.primary_key, strlen(p.primary_key), raw, sizeof raw, &n), SH_OK);
		ck_assert_uint_eq(n, 32);
		ck_assert_str_ne(p.primary_key, p.secondary_key);
	}
}
END_TEST

START_TEST(hub_open_reopen_keeps_policy_keys)
{
	struct sh_policy before, after;
	ck_assert_int_eq(hub_policy_get(hub, "iothubowner", &before, &err), SH_OK);
	hub_close(hub);
	ck_assert_int_eq(hub_open(st, &env, &hub, &err), SH_OK);
	ck_assert_int_eq(hub_policy_get(hub, "iothubowner", &after, &err), SH_OK);
	ck_assert_str_eq(before.primary_key, after.primary_key);
}
END_TEST

START_TEST(hub_policy_get_unknown_fails)
{
	struct sh_policy p;
	ck_assert_int_eq(hub_policy_get(hub, "nope", &p, &err), SH_E_NOTFOUND);
	ck_assert_int_eq(err.code, IOTHUB_UNAUTHORIZED_ACCESS);
}
END_TEST

START_TEST(hub_policy_put_bad_key_fails)
{
	struct sh_policy p;
	memset(&p, 0, sizeof p);
	strcpy(p.name, "custom");
	p.rights = SH_RIGHT_SERVICE_CONNECT;
	strcpy(p.primary_key, "c2hvcnQ="); /* 5 bytes */
	strcpy(p.secondary_key, "c2hvcnQ=");
	ck_assert_int_eq(hub_policy_put(hub, &p, &err), SH_E_INVALID);
	ck_assert_int_eq(err.code, IOTHUB_ARGUMENT_INVALID);
	strcpy(p.name, "bad name");
	ck_assert_int_eq(hub_policy_put(hub, &p, &err), SH_E_INVALID);
}
END_TEST

START_TEST(hub_rights_str_lists_names)
{
	char buf[128];
	ck_assert_str_eq(hub_rights_str(15, buf, sizeof buf),
			 "RegistryRead, RegistryWrite, ServiceConnect, DeviceConnect");
	ck_assert_str_eq(hub_rights_str(0, buf, sizeof buf), "");
}
END_TEST

/* --- registry ---------------------------------------------------------------------------------- */

START_TEST(hub_identity_create_device_generates_keys_and_etag)
{
	struct sh_identity r = req_device("dev1"), out;
	ck_assert_int_eq(hub_identity_create(hub, &r, &out, &err), SH_OK);
	ck_assert_str_eq(out.device_id, "dev1");
	ck_assert_int_eq(out.etag_counter, 1);
	ck_assert_int_eq(out.status, SH_STATUS_ENABLED);
	ck_assert_uint_eq(strlen(out.primary_key), 44);
	ck_assert_uint_eq(strlen(out.secondary_key), 44);
	ck_assert_str_ne(out.primary_key, out.secondary_key);
	ck_assert_uint_gt(strlen(out.generation_id), 0);
	ck_assert_int_eq(out.created_us, fake_now);
	struct sh_identity got;
	ck_assert_int_eq(hub_identity_get(hub, "dev1", NULL, &got, &err), SH_OK);
	ck_assert_str_eq(got.primary_key, out.primary_key);
}
END_TEST

START_TEST(hub_identity_create_bad_ids_fail)
{
	const char *bad[] = {"", "a b", "a#b", "a+b", "a/b", "é", "a\"b", "a\\b", "tab\t"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct sh_identity r = req_device(bad[i]);
		ck_assert_msg(hub_identity_create(hub, &r, NULL, &err) == SH_E_INVALID, "id '%s'", bad[i]);
		ck_assert_int_eq(err.code, IOTHUB_ARGUMENT_INVALID);
	}
	/* 129 characters cannot reach the hub: the struct holds 128; the edges refuse longer ids. */
}
END_TEST

START_TEST(hub_identity_create_special_chars_and_128_ok)
{
	add_device("a-._%*?!(),:=@$'z");
	char id[129];
	memset(id, 'b', 128);
	id[128] = '\0';
	add_device(id);
	struct sh_identity r = req_module(id, "m-._%*?!(),:=@$'");
	ck_assert_int_eq(hub_identity_create(hub, &r, NULL, &err), SH_OK);
}
END_TEST

START_TEST(hub_identity_create_duplicates_fail)
{
	add_device("dev1");
	struct sh_identity r = req_device("dev1");
	ck_assert_int_eq(hub_identity_create(hub, &r, NULL, &err), SH_E_EXISTS);
	ck_assert_int_eq(err.code, IOTHUB_DEVICE_ALREADY_EXISTS);
	struct sh_identity m = req_module("dev1", "m1");
	ck_assert_int_eq(hub_identity_create(hub, &m, NULL, &err), SH_OK);
	ck_assert_int_eq(hub_identity_create(hub, &m, NULL, &err), SH_E_EXISTS);
	ck_assert_int_eq(err.code, IOTHUB_MODULE_ALREADY_EXISTS);
}
END_TEST

START_TEST(hub_identity_create_module_without_device_fails)
{
	struct sh_identity m = req_module("ghost", "m1");
	ck_assert_int_eq(hub_identity_create(hub, &m, NULL, &err), SH_E_NOTFOUND);
	ck_assert_int_eq(err.code, IOTHUB_DEVICE_NOT_FOUND);
}
END_TEST

START_TEST(hub_identity_create_given_keys_kept_bad_keys_fail)
{
	struct sh_identity r = req_device("dev1"), out;
	strcpy(r.primary_key, "AAAAAAAAAAAAAAAAAAAAAA==");   /* 16 bytes */
	strcpy(r.secondary_key, "");
	ck_assert_int_eq(hub_identity_create(hub, &r, &out, &err), SH_OK);
	ck_assert_str_eq(out.primary_key, "AAAAAAAAAAAAAAAAAAAAAA==");
	ck_assert_uint_eq(strlen(out.secondary_key), 44);
	const char *bad[] = {"not base64!", "AAAA", "AAAAAAAAAAAAAAAAAAAAAA=", /* bad padding */
			     "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct sh_identity b = req_device("dev2");
		snprintf(b.primary_key, sizeof b.primary_key, "%s", bad[i]);
		ck_assert_msg(hub_identity_create(hub, &b, NULL, &err) == SH_E_INVALID, "key %s", bad[i]);
		ck_assert_int_eq(err.code, IOTHUB_ARGUMENT_INVALID);
	}
}
END_TEST

START_TEST(hub_identity_create_self_signed_rules)
{
	struct sh_identity r = req_device("x509dev");
	r.auth_type = SH_AUTH_SELF_SIGNED;
	ck_assert_int_eq(hub_identity_create(hub, &r, NULL, &err), SH_E_INVALID);
	strcpy(r.primary_thumbprint, "zz");
	ck_assert_int_eq(hub_identity_create(hub, &r, NULL, &err), SH_E_INVALID);
	strcpy(r.primary_thumbprint, "0123456789abcdef0123456789ABCDEF01234567");
	struct sh_identity out;
	ck_assert_int_eq(hub_identity_create(hub, &r, &out, &err), SH_OK);
	ck_assert_str_eq(out.primary_key, "");
	char *cs = NULL;
	ck_assert_int_eq(hub_connection_string(hub, "x509dev", NULL, NULL, &cs, &err), SH_E_INVALID);
	ck_assert_ptr_null(cs);
}
END_TEST

START_TEST(hub_identity_get_missing_fails_with_right_code)
{
	struct sh_identity out;
	ck_assert_int_eq(hub_identity_get(hub, "nope", NULL, &out, &err), SH_E_NOTFOUND);
	ck_assert_int_eq(err.code, IOTHUB_DEVICE_NOT_FOUND);
	ck_assert_int_eq(hub_identity_get(hub, "nope", "m1", &out, &err), SH_E_NOTFOUND);
	ck_assert_int_eq(err.code, IOTHUB_DEVICE_NOT_FOUND);
	add_device("dev1");
	ck_assert_int_eq(hub_identity_get(hub, "dev1", "nope", &out, &err), SH_E_NOTFOUND);
	ck_assert_int_eq(err.code, IOTHUB_MODULE_NOT_FOUND);
}
END_TEST

START_TEST(hub_identity_update_etag_rules)
{
	struct sh_identity r = req_device("dev1"), out;
	ck_assert_int_eq(hub_identity_create(hub, &r, &out, &err), SH_OK);
	char key[SH_KEY_MAX + 1];
	strcpy(key, out.primary_key);
	r.status = SH_STATUS_DISABLED;
	ck_assert_int_eq(hub_identity_update(hub, &r, "\"Mg==\"", &out, &err), SH_E_PRECONDITION);
	ck_assert_int_eq(err.code, IOTHUB_PRECONDITION_FAILED);
	ck_assert_int_eq(hub_identity_update(hub, &r, "\"MQ==\"", &out, &err), SH_OK);
	ck_assert_int_eq(out.etag_counter, 2);
	ck_assert_int_eq(out.status, SH_STATUS_DISABLED);
	ck_assert_int_eq(out.status_updated_us, fake_now);
	ck_assert_str_eq(out.primary_key, key); /* empty request keys keep the stored ones */
	ck_assert_int_eq(hub_identity_update(hub, &r, "\"*\"", &out, &err), SH_OK);
	ck_assert_int_eq(hub_identity_update(hub, &r, "*", &out, &err), SH_OK);
	ck_assert_int_eq(hub_identity_update(hub, &r, "W/\"NA==\"", &out, &err), SH_OK);
	ck_assert_int_eq(out.etag_counter, 5);
	struct sh_identity ghost = req_device("ghost");
	ck_assert_int_eq(hub_identity_update(hub, &ghost, NULL, &out, &err), SH_E_NOTFOUND);
}
END_TEST

START_TEST(hub_identity_delete_device_takes_modules_and_twins)
{
	add_device("dev1");
	struct sh_identity m = req_module("dev1", "m1"), out;
	ck_assert_int_eq(hub_identity_create(hub, &m, NULL, &err), SH_OK);
	ck_assert_int_eq(hub_identity_delete(hub, "dev1", NULL, "\"bm9wZQ==\"", &err), SH_E_PRECONDITION);
	ck_assert_int_eq(hub_identity_delete(hub, "dev1", NULL, NULL, &err), SH_OK);
	ck_assert_int_eq(hub_identity_get(hub, "dev1", "m1", &out, &err), SH_E_NOTFOUND);
	char *twin = NULL;
	ck_assert_int_eq(store_twin_get(st, "dev1", "m1", &twin), SH_E_NOTFOUND);
	ck_assert_int_eq(store_twin_get(st, "dev1", "", &twin), SH_E_NOTFOUND);
	/* re-created with the same id: a new generationId */
	struct sh_identity r = req_device("dev1"), a, b;
	fake_now += 1;
	ck_assert_int_eq(hub_identity_create(hub, &r, &a, &err), SH_OK);
	ck_assert_int_eq(hub_identity_delete(hub, "dev1", NULL, NULL, &err), SH_OK);
	fake_now += 1;
	ck_assert_int_eq(hub_identity_create(hub, &r, &b, &err), SH_OK);
	ck_assert_str_ne(a.generation_id, b.generation_id);
	ck_assert_int_eq(hub_identity_delete(hub, "dev1", "m9", NULL, &err), SH_E_NOTFOUND);
	ck_assert_int_eq(err.code, IOTHUB_MODULE_NOT_FOUND);
}
END_TEST

START_TEST(hub_identity_set_status_records_reason)
{
	add_device("dev1");
	struct sh_identity out;
	fake_now += 5000000;
	ck_assert_int_eq(hub_identity_set_status(hub, "dev1", NULL, SH_STATUS_DISABLED, "stolen", &out, &err), SH_OK);
	ck_assert_int_eq(out.status, SH_STATUS_DISABLED);
	ck_assert_str_eq(out.status_reason, "stolen");
	ck_assert_int_eq(out.status_updated_us, fake_now);
	char longr[200];
	memset(longr, 'r', sizeof longr - 1);
	longr[sizeof longr - 1] = '\0';
	ck_assert_int_eq(hub_identity_set_status(hub, "dev1", NULL, SH_STATUS_ENABLED, longr, &out, &err), SH_E_INVALID);
}
END_TEST

static sh_rc collect(void *arg, const struct sh_identity *id)
{
	char *buf = arg;
	strcat(buf, id->module_id[0] ? id->module_id : id->device_id);
	strcat(buf, ",");
	return SH_OK;
}

START_TEST(hub_identity_each_lists_in_order)
{
	add_device("b");
	add_device("a");
	add_device("c");
	struct sh_identity m = req_module("b", "m2");
	ck_assert_int_eq(hub_identity_create(hub, &m, NULL, &err), SH_OK);
	m = req_module("b", "m1");
	ck_assert_int_eq(hub_identity_create(hub, &m, NULL, &err), SH_OK);
	char buf[256] = "";
	ck_assert_int_eq(hub_identity_each(hub, NULL, collect, buf, &err), SH_OK);
	ck_assert_str_eq(buf, "a,b,c,");
	buf[0] = '\0';
	ck_assert_int_eq(hub_identity_each(hub, "b", collect, buf, &err), SH_OK);
	ck_assert_str_eq(buf, "m1,m2,");
	ck_assert_int_eq(hub_identity_each(hub, "zz", collect, buf, &err), SH_E_NOTFOUND);
}
END_TEST

START_TEST(hub_connection_string_shapes)
{
	struct sh_identity r = req_device("dev1");
	strcpy(r.primary_key, "AAAAAAAAAAAAAAAAAAAAAA==");
	ck_assert_int_eq(hub_identity_create(hub, &r, NULL, &err), SH_OK);
	struct sh_identity m = req_module("dev1", "azureiotsecurity");
	strcpy(m.primary_key, "AQEBAQEBAQEBAQEBAQEBAQ==");
	ck_assert_int_eq(hub_identity_create(hub, &m, NULL, &err), SH_OK);
	char *cs = NULL;
	ck_assert_int_eq(hub_connection_string(hub, "dev1", NULL, NULL, &cs, &err), SH_OK);
	ck_assert_str_eq(cs, "HostName=localhost;DeviceId=dev1;SharedAccessKey=AAAAAAAAAAAAAAAAAAAAAA==");
	free(cs);
	ck_assert_int_eq(hub_set_hostname(hub, "myhub.azure-devices.net", &err), SH_OK);
	ck_assert_int_eq(hub_connection_string(hub, "dev1", "azureiotsecurity", "localhost", &cs, &err), SH_OK);
	ck_assert_str_eq(cs, "HostName=myhub.azure-devices.net;DeviceId=dev1;ModuleId=azureiotsecurity;"
			     "SharedAccessKey=AQEBAQEBAQEBAQEBAQEBAQ==;GatewayHostName=localhost");
	free(cs);
	ck_assert_int_eq(hub_policy_connection_string(hub, "iothubowner", &cs, &err), SH_OK);
	static const char want[] = "HostName=myhub.azure-devices.net;SharedAccessKeyName=iothubowner;SharedAccessKey=";
	ck_assert_msg(strncmp(cs, want, sizeof want - 1) == 0 && strlen(cs) == sizeof want - 1 + 44, "%s", cs);
	free(cs);
	ck_assert_int_eq(hub_set_hostname(hub, "bad;host", &err), SH_E_INVALID);
	ck_assert_str_eq(hub_hostname(hub), "myhub.azure-devices.net");
}
END_TEST

/* --- twins --------------------------------------------------------------------------------------- */

static int notified;
static char notified_json[512];

static void on_desired(void *ctx, const char *d, const char *m, const cJSON *delta)
{
	(void)ctx;
	notified++;
	char *t = cJSON_PrintUnformatted(delta);
	snprintf(notified_json, sizeof notified_json, "%s%s%s %s", d, m[0] ? "/" : "", m, t);
	cJSON_free(t);
}

static char *twin_text(const char *dev, const char *mod)
{
	cJSON *t = NULL;
	ck_assert_int_eq(hub_twin_get(hub, dev, mod, &t, &err), SH_OK);
	char *s = cJSON_PrintUnformatted(t);
	cJSON_Delete(t);
	return s;
}

START_TEST(hub_twin_get_has_identity_fields)
{
	add_device("dev1");
	cJSON *t = NULL;
	ck_assert_int_eq(hub_twin_get(hub, "dev1", NULL, &t, &err), SH_OK);
	ck_assert_str_eq(cJSON_GetObjectItem(t, "deviceId")->valuestring, "dev1");
	ck_assert_str_eq(cJSON_GetObjectItem(t, "status")->valuestring, "enabled");
	ck_assert_str_eq(cJSON_GetObjectItem(t, "deviceEtag")->valuestring, "MQ==");
	ck_assert_str_eq(cJSON_GetObjectItem(t, "connectionState")->valuestring, "Disconnected");
	ck_assert_str_eq(cJSON_GetObjectItem(t, "authenticationType")->valuestring, "sas");
	ck_assert_ptr_nonnull(cJSON_GetObjectItem(t, "etag"));
	ck_assert_ptr_nonnull(cJSON_GetObjectItem(t, "version"));
	cJSON *props = cJSON_GetObjectItem(t, "properties");
	ck_assert_ptr_nonnull(cJSON_GetObjectItem(cJSON_GetObjectItem(props, "desired"), "$metadata"));
	ck_assert_ptr_null(cJSON_GetObjectItem(t, "moduleId"));
	cJSON_Delete(t);
	cJSON *dv = NULL;
	ck_assert_int_eq(hub_twin_device_view(hub, "dev1", NULL, &dv, &err), SH_OK);
	ck_assert_ptr_null(cJSON_GetObjectItem(dv, "tags"));
	ck_assert_ptr_nonnull(cJSON_GetObjectItem(cJSON_GetObjectItem(dv, "desired"), "$version"));
	ck_assert_ptr_null(cJSON_GetObjectItem(cJSON_GetObjectItem(dv, "desired"), "$metadata"));
	cJSON_Delete(dv);
	ck_assert_int_eq(hub_twin_get(hub, "nope", NULL, &t, &err), SH_E_NOTFOUND);
	ck_assert_int_eq(err.code, IOTHUB_DEVICE_NOT_FOUND);
}
END_TEST

START_TEST(hub_twin_patch_desired_notifies_and_bumps_versions)
{
	add_device("dev1");
	struct sh_identity m = req_module("dev1", "mod");
	ck_assert_int_eq(hub_identity_create(hub, &m, NULL, &err), SH_OK);
	struct sh_hub_notify n = {on_desired, NULL, NULL};
	hub_set_notify(hub, &n);
	notified = 0;
	cJSON *patch = cJSON_Parse("{\"interval\":5}");
	cJSON *out = NULL;
	ck_assert_int_eq(hub_twin_patch_desired(hub, "dev1", "mod", patch, &out, &err), SH_OK);
	ck_assert_int_eq(notified, 1);
	ck_assert_str_eq(notified_json, "dev1/mod {\"interval\":5,\"$version\":2}");
	cJSON *des = cJSON_GetObjectItem(cJSON_GetObjectItem(out, "properties"), "desired");
	ck_assert_int_eq(cJSON_GetObjectItem(des, "interval")->valueint, 5);
	ck_assert_int_eq(cJSON_GetObjectItem(des, "$version")->valueint, 2);
	ck_assert_str_eq(cJSON_GetObjectItem(out, "moduleId")->valuestring, "mod");
	cJSON_Delete(out);
	cJSON_Delete(patch);
	/* tags do not notify */
	patch = cJSON_Parse("{\"site\":\"lab\"}");
	ck_assert_int_eq(hub_twin_patch_tags(hub, "dev1", "mod", patch, NULL, &err), SH_OK);
	ck_assert_int_eq(notified, 1);
	cJSON_Delete(patch);
	hub_set_notify(hub, NULL);
}
END_TEST

START_TEST(hub_twin_patch_rejected_leaves_twin_unchanged)
{
	add_device("dev1");
	char *before = twin_text("dev1", NULL);
	const char *bad[] = {"{\"a.b\":1}", "{\"$version\":3}", "{\"a b\":1}", "[1]", "{\"n\":4503599627370496}"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cJSON *patch = cJSON_Parse(bad[i]);
		ck_assert_ptr_nonnull(patch);
		sh_rc rc = hub_twin_patch_desired(hub, "dev1", NULL, patch, NULL, &err);
		ck_assert_msg(rc == SH_E_INVALID || rc == SH_E_TOOLARGE || rc == SH_E_MALFORMED,
			      "%s gave %d", bad[i], rc);
		ck_assert_int_eq(err.code / 1000, 400);
		cJSON_Delete(patch);
	}
	char *after = twin_text("dev1", NULL);
	ck_assert_str_eq(before, after);
	cJSON_free(before);
	cJSON_free(after);
}
END_TEST

START_TEST(hub_twin_patch_reported_returns_version)
{
	add_device("dev1");
	cJSON *patch = cJSON_Parse("{\"fw\":\"1.0\"}");
	int64_t v = 0;
	ck_assert_int_eq(hub_twin_patch_reported(hub, "dev1", NULL, patch, &v, &err), SH_OK);
	ck_assert_int_eq(v, 2);
	ck_assert_int_eq(hub_twin_patch_reported(hub, "dev1", NULL, patch, &v, &err), SH_OK);
	ck_assert_int_eq(v, 3);
	cJSON_Delete(patch);
}
END_TEST

START_TEST(hub_twin_service_patch_checks_if_match)
{
	add_device("dev1");
	cJSON *t = NULL;
	ck_assert_int_eq(hub_twin_get(hub, "dev1", NULL, &t, &err), SH_OK);
	char etag[64];
	snprintf(etag, sizeof etag, "\"%s\"", cJSON_GetObjectItem(t, "etag")->valuestring);
	cJSON_Delete(t);
	cJSON *body = cJSON_Parse("{\"tags\":{\"a\":1},\"properties\":{\"desired\":{\"b\":2}}}");
	ck_assert_int_eq(hub_twin_service_patch(hub, "dev1", NULL, body, "\"AAAAAAAAAAA=\"", NULL, &err),
			 SH_E_PRECONDITION);
	ck_assert_int_eq(err.code, IOTHUB_PRECONDITION_FAILED);
	cJSON *out = NULL;
	ck_assert_int_eq(hub_twin_service_patch(hub, "dev1", NULL, body, etag, &out, &err), SH_OK);
	ck_assert_str_ne(cJSON_GetObjectItem(out, "etag")->valuestring, etag + 1);
	ck_assert_int_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(out, "tags"), "a")->valueint, 1);
	cJSON_Delete(out);
	/* the old etag is stale now */
	ck_assert_int_eq(hub_twin_service_patch(hub, "dev1", NULL, body, etag, NULL, &err), SH_E_PRECONDITION);
	ck_assert_int_eq(hub_twin_replace(hub, "dev1", NULL, body, "\"*\"", NULL, &err), SH_OK);
	cJSON_Delete(body);
}
END_TEST

/* --- group commit ------------------------------------------------------------------------------ */

START_TEST(hub_op_in_caller_batch_failure_rolls_back_only_itself)
{
	ck_assert_int_eq(store_batch_begin(st), SH_OK);
	add_device("kept");
	struct sh_identity dup = req_device("kept");
	ck_assert_int_eq(hub_identity_create(hub, &dup, NULL, &err), SH_E_EXISTS);
	struct sh_identity bad = req_module("kept", "bad id");
	ck_assert_int_eq(hub_identity_create(hub, &bad, NULL, &err), SH_E_INVALID);
	ck_assert_int_eq(store_batch_depth(st), 1);
	ck_assert_int_eq(store_batch_commit(st), SH_OK);
	struct sh_identity out;
	ck_assert_int_eq(hub_identity_get(hub, "kept", NULL, &out, &err), SH_OK);
}
END_TEST

/* --- fixtures ---------------------------------------------------------------------------------- */

static const char fixture_ok[] =
	"{\"settings\":{\"hostname\":\"fx.azure-devices.net\"},"
	"\"policies\":[{\"name\":\"iothubowner\",\"primaryKey\":\"AAAAAAAAAAAAAAAAAAAAAA==\","
	"\"secondaryKey\":\"AQEBAQEBAQEBAQEBAQEBAQ==\","
	"\"rights\":[\"RegistryRead\",\"RegistryWrite\",\"ServiceConnect\",\"DeviceConnect\"]}],"
	"\"devices\":[{\"id\":\"fx1\",\"authentication\":{\"type\":\"sas\","
	"\"primaryKey\":\"AgICAgICAgICAgICAgICAg==\",\"secondaryKey\":\"AwMDAwMDAwMDAwMDAwMDAw==\"},"
	"\"twin\":{\"tags\":{\"site\":\"lab\"},\"desired\":{\"interval\":5},\"reported\":{\"fw\":\"1\"}},"
	"\"modules\":[{\"id\":\"azureiotsecurity\",\"twin\":{\"desired\":{\"x\":{\"y\":1}}}}]}]}";

static struct fixture *parse_fixture(const char *text)
{
	struct fixture *fx = NULL;
	struct fixture_error ferr;
	memset(&ferr, 0, sizeof ferr);
	sh_rc rc = fixture_parse(text, strlen(text), &fx, &ferr);
	ck_assert_msg(rc == SH_OK, "fixture: %s: %s", ferr.path, ferr.reason);
	return fx;
}

START_TEST(hub_fixtures_apply_loads_and_is_idempotent)
{
	struct fixture *fx = parse_fixture(fixture_ok);
	const char *file = "inline.json";
	ck_assert_int_eq(hub_fixtures_apply(hub, &fx, &file, 1, &err), SH_OK);
	ck_assert_str_eq(hub_hostname(hub), "fx.azure-devices.net");
	struct sh_identity d;
	ck_assert_int_eq(hub_identity_get(hub, "fx1", NULL, &d, &err), SH_OK);
	ck_assert_str_eq(d.primary_key, "AgICAgICAgICAgICAgICAg==");
	struct sh_policy p;
	ck_assert_int_eq(hub_policy_get(hub, "iothubowner", &p, &err), SH_OK);
	ck_assert_str_eq(p.primary_key, "AAAAAAAAAAAAAAAAAAAAAA==");
	char *t1 = twin_text("fx1", NULL), *m1 = twin_text("fx1", "azureiotsecurity");
	ck_assert_ptr_nonnull(strstr(t1, "\"site\":\"lab\""));
	ck_assert_ptr_nonnull(strstr(t1, "\"interval\":5"));
	ck_assert_ptr_nonnull(strstr(t1, "\"fw\":\"1\""));
	/* second load: nothing moves, not even an etag or a version */
	fake_now += 1000000;
	ck_assert_int_eq(hub_fixtures_apply(hub, &fx, &file, 1, &err), SH_OK);
	char *t2 = twin_text("fx1", NULL), *m2 = twin_text("fx1", "azureiotsecurity");
	ck_assert_str_eq(t1, t2);
	ck_assert_str_eq(m1, m2);
	struct sh_identity d2;
	ck_assert_int_eq(hub_identity_get(hub, "fx1", NULL, &d2, &err), SH_OK);
	ck_assert_int_eq(d2.etag_counter, d.etag_counter);
	cJSON_free(t1);
	cJSON_free(t2);
	cJSON_free(m1);
	cJSON_free(m2);
	fixture_free(fx);
}
END_TEST

START_TEST(hub_fixtures_apply_converges_changed_twin)
{
	add_device("fx1");
	cJSON *p = cJSON_Parse("{\"old\":1,\"interval\":9}");
	ck_assert_int_eq(hub_twin_patch_desired(hub, "fx1", NULL, p, NULL, &err), SH_OK);
	cJSON_Delete(p);
	struct fixture *fx = parse_fixture(fixture_ok);
	const char *file = "inline.json";
	ck_assert_int_eq(hub_fixtures_apply(hub, &fx, &file, 1, &err), SH_OK);
	cJSON *dv = NULL;
	ck_assert_int_eq(hub_twin_device_view(hub, "fx1", NULL, &dv, &err), SH_OK);
	cJSON *des = cJSON_GetObjectItem(dv, "desired");
	ck_assert_ptr_null(cJSON_GetObjectItem(des, "old"));
	ck_assert_int_eq(cJSON_GetObjectItem(des, "interval")->valueint, 5);
	cJSON_Delete(dv);
	fixture_free(fx);
}
END_TEST

START_TEST(hub_fixtures_apply_bad_twin_loads_nothing)
{
	static const char bad[] =
		"{\"settings\":{\"hostname\":\"changed.example\"},"
		"\"devices\":[{\"id\":\"ok1\"},{\"id\":\"bad1\",\"twin\":{\"desired\":{\"a\":{\"b.c\":1}}}}]}";
	struct fixture *fx = parse_fixture(bad);
	const char *file = "fixtures/bad.json";
	ck_assert_int_ne(hub_fixtures_apply(hub, &fx, &file, 1, &err), SH_OK);
	ck_assert_msg(strstr(err.message, "fixtures/bad.json: $.devices[1].twin.desired") != NULL, "%s",
		      err.message);
	struct sh_identity d;
	ck_assert_int_eq(hub_identity_get(hub, "ok1", NULL, &d, &err), SH_E_NOTFOUND);
	ck_assert_str_eq(hub_hostname(hub), "localhost");
	fixture_free(fx);
	/* and the hub still works afterwards (no batch left open) */
	ck_assert_int_eq(store_batch_depth(st), 0);
	add_device("after");
}
END_TEST


/* --- cloud-to-device queue ------------------------------------------------------------------------ */

static int c2d_notified;
static void on_c2d(void *ctx, const char *d)
{
	(void)ctx;
	(void)d;
	c2d_notified++;
}

static sh_rc send_text(const char *dev, const char *text, const char *mid)
{
	struct hub_c2d_send m;
	memset(&m, 0, sizeof m);
	m.body = text;
	m.len = strlen(text);
	m.message_id = mid;
	return hub_c2d_send(hub, dev, &m, NULL, &err);
}

START_TEST(hub_c2d_send_receive_complete)
{
	add_device("dev1");
	struct sh_hub_notify n = {NULL, on_c2d, NULL};
	hub_set_notify(hub, &n);
	c2d_notified = 0;
	struct hub_c2d_msg m;
	ck_assert_int_eq(hub_c2d_receive(hub, "dev1", 60, &m, &err), SH_E_NOTFOUND);
	cJSON *app = cJSON_Parse("{\"color\":\"red\"}");
	struct hub_c2d_send s;
	memset(&s, 0, sizeof s);
	s.body = "hello";
	s.len = 5;
	s.app = app;
	s.message_id = "m1";
	s.ack = "full";
	ck_assert_int_eq(hub_c2d_send(hub, "dev1", &s, NULL, &err), SH_OK);
	cJSON_Delete(app);
	ck_assert_int_eq(c2d_notified, 1);
	ck_assert_int_eq(hub_c2d_receive(hub, "dev1", 60, &m, &err), SH_OK);
	ck_assert_uint_eq(m.len, 5);
	ck_assert_int_eq(memcmp(m.body, "hello", 5), 0);
	ck_assert_str_eq(cJSON_GetObjectItem(m.sys, "message-id")->valuestring, "m1");
	ck_assert_str_eq(cJSON_GetObjectItem(m.sys, "iothub-ack")->valuestring, "full");
	ck_assert_str_eq(cJSON_GetObjectItem(m.sys, "to")->valuestring, "/devices/dev1/messages/devicebound");
	ck_assert_str_eq(cJSON_GetObjectItem(m.app, "color")->valuestring, "red");
	ck_assert_int_eq(m.expiry_us, fake_now + 3600LL * 1000000);
	ck_assert_uint_eq(strlen(m.lock_token), 36);
	/* locked: not delivered twice */
	struct hub_c2d_msg again;
	ck_assert_int_eq(hub_c2d_receive(hub, "dev1", 60, &again, &err), SH_E_NOTFOUND);
	ck_assert_int_eq(hub_c2d_settle(hub, "dev1", m.lock_token, HUB_C2D_COMPLETE, &err), SH_OK);
	ck_assert_int_eq(hub_c2d_settle(hub, "dev1", m.lock_token, HUB_C2D_COMPLETE, &err), SH_E_NOTFOUND);
	ck_assert_int_eq(err.code, IOTHUB_DEVICE_MESSAGE_LOCK_LOST);
	ck_assert_int_eq(hub_c2d_settle(hub, "dev1", "nope", HUB_C2D_REJECT, &err), SH_E_NOTFOUND);
	hub_c2d_msg_free(&m);
	hub_set_notify(hub, NULL);
}
END_TEST

START_TEST(hub_c2d_send_limits_and_errors)
{
	add_device("dev1");
	ck_assert_int_eq(send_text("ghost", "x", NULL), SH_E_NOTFOUND);
	ck_assert_int_eq(err.code, IOTHUB_DEVICE_NOT_FOUND);
	struct hub_c2d_send m;
	memset(&m, 0, sizeof m);
	m.body = "x";
	m.len = 1;
	m.ack = "sometimes";
	ck_assert_int_eq(hub_c2d_send(hub, "dev1", &m, NULL, &err), SH_E_INVALID);
	ck_assert_int_eq(err.code, IOTHUB_ARGUMENT_INVALID);
	m.ack = NULL;
	cJSON *bad = cJSON_Parse("{\"n\":1}");
	m.app = bad;
	ck_assert_int_eq(hub_c2d_send(hub, "dev1", &m, NULL, &err), SH_E_INVALID);
	cJSON_Delete(bad);
	m.app = NULL;
	static char big[65 * 1024];
	memset(big, 'b', sizeof big);
	m.body = big;
	m.len = sizeof big;
	ck_assert_int_eq(hub_c2d_send(hub, "dev1", &m, NULL, &err), SH_E_TOOLARGE);
	ck_assert_int_eq(err.code, IOTHUB_MESSAGE_TOO_LARGE);
	for (int i = 0; i < HUB_C2D_MAX_QUEUE; i++)
		ck_assert_int_eq(send_text("dev1", "q", NULL), SH_OK);
	ck_assert_int_eq(send_text("dev1", "q", NULL), SH_E_TOOLARGE);
	ck_assert_int_eq(err.code, IOTHUB_DEVICE_MAX_QUEUE_DEPTH);
	/* modules get no C2D */
	struct sh_identity mod = req_module("dev1", "m1");
	ck_assert_int_eq(hub_identity_create(hub, &mod, NULL, &err), SH_OK);
}
END_TEST

START_TEST(hub_c2d_ttl_lock_abandon_and_max_deliveries)
{
	add_device("dev1");
	struct hub_c2d_send m;
	memset(&m, 0, sizeof m);
	m.body = "soon";
	m.len = 4;
	m.expiry_us = fake_now + 10 * 1000000LL;
	ck_assert_int_eq(hub_c2d_send(hub, "dev1", &m, NULL, &err), SH_OK);
	ck_assert_int_eq(send_text("dev1", "later", "keep"), SH_OK);
	fake_now += 11 * 1000000LL; /* the first one expired: dead-lettered, the second is next */
	struct hub_c2d_msg r;
	ck_assert_int_eq(hub_c2d_receive(hub, "dev1", 60, &r, &err), SH_OK);
	ck_assert_str_eq(cJSON_GetObjectItem(r.sys, "message-id")->valuestring, "keep");
	/* a lock that runs out makes it deliverable again, delivery count unchanged */
	fake_now += 61 * 1000000LL;
	ck_assert_int_eq(hub_c2d_settle(hub, "dev1", r.lock_token, HUB_C2D_COMPLETE, &err), SH_E_NOTFOUND);
	hub_c2d_msg_free(&r);
	ck_assert_int_eq(hub_c2d_receive(hub, "dev1", 60, &r, &err), SH_OK);
	ck_assert_int_eq(r.delivery_count, 0);
	/* abandon: back with delivery count +1 */
	for (int i = 1; i < HUB_C2D_MAX_DELIVERIES; i++) {
		ck_assert_int_eq(hub_c2d_settle(hub, "dev1", r.lock_token, HUB_C2D_ABANDON, &err), SH_OK);
		hub_c2d_msg_free(&r);
		ck_assert_int_eq(hub_c2d_receive(hub, "dev1", 60, &r, &err), SH_OK);
		ck_assert_int_eq(r.delivery_count, i);
	}
	/* the tenth abandon dead-letters it */
	ck_assert_int_eq(hub_c2d_settle(hub, "dev1", r.lock_token, HUB_C2D_ABANDON, &err), SH_OK);
	hub_c2d_msg_free(&r);
	ck_assert_int_eq(hub_c2d_receive(hub, "dev1", 60, &r, &err), SH_E_NOTFOUND);
	/* reject dead-letters at once; release requeues without counting */
	ck_assert_int_eq(send_text("dev1", "a", "a"), SH_OK);
	ck_assert_int_eq(hub_c2d_receive(hub, "dev1", 60, &r, &err), SH_OK);
	ck_assert_int_eq(hub_c2d_settle(hub, "dev1", r.lock_token, HUB_C2D_RELEASE, &err), SH_OK);
	hub_c2d_msg_free(&r);
	ck_assert_int_eq(hub_c2d_receive(hub, "dev1", 60, &r, &err), SH_OK);
	ck_assert_int_eq(r.delivery_count, 0);
	ck_assert_int_eq(hub_c2d_settle(hub, "dev1", r.lock_token, HUB_C2D_REJECT, &err), SH_OK);
	hub_c2d_msg_free(&r);
	ck_assert_int_eq(hub_c2d_receive(hub, "dev1", 60, &r, &err), SH_E_NOTFOUND);
	/* dead-lettered and completed messages free their queue slots */
	for (int i = 0; i < HUB_C2D_MAX_QUEUE; i++)
		ck_assert_int_eq(send_text("dev1", "q", NULL), SH_OK);
	/* a deleted device takes its queue along */
	ck_assert_int_eq(hub_identity_delete(hub, "dev1", NULL, NULL, &err), SH_OK);
	ck_assert_int_eq(hub_c2d_receive(hub, "dev1", 60, &r, &err), SH_E_NOTFOUND);
	ck_assert_int_eq(err.code, IOTHUB_DEVICE_NOT_FOUND);
}
END_TEST

START_TEST(hub_c2d_recover_releases_mqtt_locks_only)
{
	add_device("dev1");
	ck_assert_int_eq(send_text("dev1", "mqtt", "a"), SH_OK);
	ck_assert_int_eq(send_text("dev1", "https", "b"), SH_OK);
	struct hub_c2d_msg m1, m2;
	ck_assert_int_eq(hub_c2d_receive(hub, "dev1", 3600, &m1, &err), SH_OK);  /* as MQTT locks */
	ck_assert_int_eq(hub_c2d_receive(hub, "dev1", 60, &m2, &err), SH_OK);    /* as HTTPS locks */
	int64_t n = -1;
	ck_assert_int_eq(hub_c2d_recover(hub, &n, &err), SH_OK);
	ck_assert_int_eq(n, 1);
	struct hub_c2d_msg again;
	ck_assert_int_eq(hub_c2d_receive(hub, "dev1", 60, &again, &err), SH_OK);
	ck_assert_str_eq(cJSON_GetObjectItem(again.sys, "message-id")->valuestring, "a");
	ck_assert_int_eq(again.delivery_count, 0);
	ck_assert_int_eq(hub_c2d_settle(hub, "dev1", m2.lock_token, HUB_C2D_COMPLETE, &err), SH_OK);
	hub_c2d_msg_free(&m1);
	hub_c2d_msg_free(&m2);
	hub_c2d_msg_free(&again);
}
END_TEST

static Suite *hub_suite(void)
{
	Suite *s = suite_create("hub");
	TCase *tc = tcase_create("policies");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, hub_open_fresh_store_creates_default_policies);
	tcase_add_test(tc, hub_open_reopen_keeps_policy_keys);
	tcase_add_test(tc, hub_policy_get_unknown_fails);
	tcase_add_test(tc, hub_policy_put_bad_key_fails);
	tcase_add_test(tc, hub_rights_str_lists_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("registry");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, hub_identity_create_device_generates_keys_and_etag);
	tcase_add_test(tc, hub_identity_create_bad_ids_fail);
	tcase_add_test(tc, hub_identity_create_special_chars_and_128_ok);
	tcase_add_test(tc, hub_identity_create_duplicates_fail);
	tcase_add_test(tc, hub_identity_create_module_without_device_fails);
	tcase_add_test(tc, hub_identity_create_given_keys_kept_bad_keys_fail);
	tcase_add_test(tc, hub_identity_create_self_signed_rules);
	tcase_add_test(tc, hub_identity_get_missing_fails_with_right_code);
	tcase_add_test(tc, hub_identity_update_etag_rules);
	tcase_add_test(tc, hub_identity_delete_device_takes_modules_and_twins);
	tcase_add_test(tc, hub_identity_set_status_records_reason);
	tcase_add_test(tc, hub_identity_each_lists_in_order);
	tcase_add_test(tc, hub_connection_string_shapes);
	suite_add_tcase(s, tc);

	tc = tcase_create("twins");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, hub_twin_get_has_identity_fields);
	tcase_add_test(tc, hub_twin_patch_desired_notifies_and_bumps_versions);
	tcase_add_test(tc, hub_twin_patch_rejected_leaves_twin_unchanged);
	tcase_add_test(tc, hub_twin_patch_reported_returns_version);
	tcase_add_test(tc, hub_twin_service_patch_checks_if_match);
	suite_add_tcase(s, tc);

	tc = tcase_create("batch");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, hub_op_in_caller_batch_failure_rolls_back_only_itself);
	suite_add_tcase(s, tc);

	tc = tcase_create("c2d");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, hub_c2d_send_receive_complete);
	tcase_add_test(tc, hub_c2d_send_limits_and_errors);
	tcase_add_test(tc, hub_c2d_ttl_lock_abandon_and_max_deliveries);
	tcase_add_test(tc, hub_c2d_recover_releases_mqtt_locks_only);
	suite_add_tcase(s, tc);

	tc = tcase_create("fixtures");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, hub_fixtures_apply_loads_and_is_idempotent);
	tcase_add_test(tc, hub_fixtures_apply_converges_changed_twin);
	tcase_add_test(tc, hub_fixtures_apply_bad_twin_loads_nothing);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(hub_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
