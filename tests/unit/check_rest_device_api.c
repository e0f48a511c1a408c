/*
 * check_rest_device_api.c: the HTTPS device API of rest/ (rest_device_api.c, its routing and
 * device-token check in rest.c) driven through rest_handle over a hub on an in-memory store,
 * no sockets: telemetry from the Node SDK's headers (trace), batches, limits, refused tokens,
 * the C2D receive headers spelt exactly and unsafe properties left out, settle outcomes; and
 * the request/response helpers rest_query_has and rest_response_add_header.
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/sas.h"
#include "hub/hub.h"
#include "rest/rest.h"
#include "store/store.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

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
static struct rest_ctx *rc;
static struct iothub_err err;
static char tok_dev1[512], tok_dev2[512], tok_mod1[512];

/* A token for identity (device or device/module) valid for an hour of hub time. */
static void token(const char *device, const char *module, char *out, size_t cap)
{
	struct sh_identity id;
	ck_assert_int_eq(hub_identity_get(hub, device, module, &id, &err), SH_OK);
	char uri[300];
	snprintf(uri, sizeof uri, "localhost/devices/%s%s%s", device, module ? "/modules/" : "",
		 module ? module : "");
	ck_assert_int_eq(sas_build(uri, id.primary_key, NULL, fake_now / 1000000 + 3600, out, cap, NULL),
			 SH_OK);
}

static void add_identity(const char *device, const char *module)
{
	struct sh_identity r;
	memset(&r, 0, sizeof r);
	snprintf(r.device_id, sizeof r.device_id, "%s", device);
	snprintf(r.module_id, sizeof r.module_id, "%s", module ? module : "");
	ck_assert_int_eq(hub_identity_create(hub, &r, NULL, &err), SH_OK);
}

static void setup(void)
{
	char msg[256];
	fake_now = 1700000000000000LL;
	ck_assert_int_eq(store_open(":memory:", &st, msg, sizeof msg), SH_OK);
	ck_assert_int_eq(hub_open(st, &env, &hub, &err), SH_OK);
	add_identity("dev1", NULL);
	add_identity("dev1", "mod1");
	add_identity("dev2", NULL);
	token("dev1", NULL, tok_dev1, sizeof tok_dev1);
	token("dev2", NULL, tok_dev2, sizeof tok_dev2);
	token("dev1", "mod1", tok_mod1, sizeof tok_mod1);
	rc = rest_new(hub, NULL);
	ck_assert_ptr_nonnull(rc);
}

static void reset_headers(void);
static struct rest_response resp;

static void teardown(void)
{
	rest_response_free(&resp);
	reset_headers();
	rest_free(rc);
	hub_close(hub);
	store_close(st);
}

/* --- a request as io/lws_rest.c would build it ------------------------------------------------ */

struct fake_headers {
	const char *pairs[32][2];
	size_t n;
};

static const char *fake_lookup(void *hctx, const char *name, char *buf, size_t cap)
{
	const struct fake_headers *h = hctx;
	for (size_t i = 0; i < h->n; i++) {
		if (strcasecmp(h->pairs[i][0], name) == 0) {
			if (strlen(h->pairs[i][1]) + 1 > cap)
				return NULL;
			strcpy(buf, h->pairs[i][1]);
			return buf;
		}
	}
	return NULL;
}

static struct fake_headers hdrs;
static const char *app_names[16];
static size_t n_app;

static void header(const char *name, const char *value)
{
	ck_assert_uint_lt(hdrs.n, NELEM(hdrs.pairs));
	hdrs.pairs[hdrs.n][0] = name;
	hdrs.pairs[hdrs.n][1] = value;
	hdrs.n++;
	/* what lws_rest.c lists: the iothub-app-* names, lower case as lws stores them */
	if (strncasecmp(name, "iothub-app-", 11) == 0) {
		char *low = strdup(name);
		for (char *p = low; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p + 32);
		app_names[n_app++] = low;
	}
}

static void reset_headers(void)
{
	for (size_t i = 0; i < n_app; i++)
		free((char *)app_names[i]);
	n_app = 0;
	hdrs.n = 0;
}

/* Run one request; the answer is in `resp` (freed by the next call or teardown_req). */
static int handle(enum rest_method m, const char *path, const char *query, const char *auth,
		  const char *body, size_t len)
{
	rest_response_free(&resp);
	struct rest_request req = {
		.method = m,
		.path = path,
		.authorization = auth,
		.query = query,
		.header = fake_lookup,
		.hctx = &hdrs,
		.app_headers = n_app ? app_names : NULL,
		.n_app_headers = n_app,
		.body = body,
		.body_len = len,
	};
	int r = rest_handle(rc, &req, &resp, NULL, NULL);
	ck_assert_int_eq(r, 1);
	reset_headers();
	return resp.status;
}

static int post_text(const char *path, const char *auth, const char *body)
{
	return handle(REST_POST, path, "api-version=2021-04-12", auth, body, strlen(body));
}

static long error_code(void)
{
	cJSON *outer = cJSON_Parse(resp.body);
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(outer, "Message");
	cJSON *inner = cJSON_IsString(m) ? cJSON_Parse(m->valuestring) : NULL;
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(inner, "errorCode");
	long v = cJSON_IsNumber(code) ? (long)code->valuedouble : -1;
	cJSON_Delete(inner);
	cJSON_Delete(outer);
	return v;
}

/* The value of response header `name` (exact case), or NULL. */
static const char *resp_header(const char *name)
{
	for (size_t i = 0; i < resp.n_headers; i++)
		if (strcmp(resp.headers[i].name, name) == 0)
			return resp.headers[i].value;
	return NULL;
}

/* --- stored telemetry ------------------------------------------------------------------------- */

struct d2c_seen {
	int n;
	char module[64], sys[2048], app[2048], body[512];
	size_t body_len;
};

static sh_rc d2c_collect(void *arg, int64_t seq, const struct sh_d2c_row *row)
{
	(void)seq;
	struct d2c_seen *s = arg;
	s->n++;
	snprintf(s->module, sizeof s->module, "%s", row->module_id);
	snprintf(s->sys, sizeof s->sys, "%s", row->sys_props_json);
	snprintf(s->app, sizeof s->app, "%s", row->app_props_json);
	s->body_len = row->body_len < sizeof s->body - 1 ? row->body_len : sizeof s->body - 1;
	if (s->body_len)
		memcpy(s->body, row->body, s->body_len);
	s->body[s->body_len] = '\0';
	return SH_OK;
}

/* The newest message of dev1 (and how many there are). */
static struct d2c_seen last_d2c(void)
{
	struct d2c_seen s;
	memset(&s, 0, sizeof s);
	ck_assert_int_eq(store_d2c_each(st, "dev1", 0, d2c_collect, &s), SH_OK);
	return s;
}

static const char *json_str(const char *text, const char *key, char *buf, size_t cap)
{
	cJSON *j = cJSON_Parse(text);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
	const char *out = NULL;
	if (cJSON_IsString(v)) {
		snprintf(buf, cap, "%s", v->valuestring);
		out = buf;
	}
	cJSON_Delete(j);
	return out;
}

#define EVENTS "/devices/dev1/messages/events"
#define BOUND "/devices/dev1/messages/devicebound"

/* --- rest_query_has ------------------------------------------------------------------------ */

START_TEST(rest_query_has_flag_forms)
{
	struct rest_request r;
	memset(&r, 0, sizeof r);
	static const struct {
		const char *query;
		bool has;
	} cases[] = {
		{"api-version=2021-04-12&reject", true},   /* trace: Node's reject */
		{"reject", true},
		{"reject=", true},
		{"reject=true&api-version=1", true},
		{"api-version=1,reject", true},            /* lws 4.1 may join with ',' */
		{"api-version=1&rejected", false},
		{"api-version=1&xreject", false},
		{"api-version=reject", false},
		{"reject_&a", false},
		{"", false},
		{"&&,", false},
	};
	for (size_t i = 0; i < NELEM(cases); i++) {
		r.query = cases[i].query;
		ck_assert_msg(rest_query_has(&r, "reject") == cases[i].has, "'%s'", cases[i].query);
	}
	r.query = NULL;
	ck_assert(!rest_query_has(&r, "reject"));
	r.query = "a&b";
	ck_assert(!rest_query_has(&r, ""));
}
END_TEST

/* --- rest_response_add_header -------------------------------------------------------------- */

START_TEST(rest_response_add_header_copies_and_frees)
{
	struct rest_response r;
	memset(&r, 0, sizeof r);
	char name[] = "ContentType", value[] = "application/json";
	ck_assert_int_eq(rest_response_add_header(&r, name, value), 0);
	ck_assert_int_eq(rest_response_add_header(&r, "iothub-app-x", ""), 0);
	name[0] = 'X';
	value[0] = 'X';
	ck_assert_uint_eq(r.n_headers, 2);
	ck_assert_str_eq(r.headers[0].name, "ContentType");
	ck_assert_str_eq(r.headers[0].value, "application/json");
	ck_assert_str_eq(r.headers[1].name, "iothub-app-x");
	ck_assert_str_eq(r.headers[1].value, "");
	r.body = strdup("{}");
	rest_response_free(&r);
	ck_assert_ptr_null(r.headers);
	ck_assert_uint_eq(r.n_headers, 0);
	ck_assert_ptr_null(r.body);
	rest_response_free(&r); /* twice is harmless */
}
END_TEST

/* --- telemetry -------------------------------------------------------------------------------- */

START_TEST(rest_handle_d2c_node_headers_stored_canonical)
{
	/* trace: node-sdk-device-https.md sendEvent */
	header("iothub-to", "/devices/dev1/messages/events");
	header("iothub-app-alert", "high");
	header("iothub-app-unit", "deg C & more");
	header("dt-subject", "thermostat1");
	header("IoTHub-MessageId", "msg-h1");
	header("IoTHub-CorrelationId", "corr-h1");
	header("iothub-contenttype", "application/json");
	header("iothub-contentencoding", "utf-8");
	header("iothub-interface-id", "urn:azureiot:Security:SecurityAgent:1");
	ck_assert_int_eq(post_text(EVENTS, tok_dev1, "{\"temperature\":21.5}"), 204);
	ck_assert_ptr_null(resp.body);
	struct d2c_seen s = last_d2c();
	char buf[256];
	ck_assert_int_eq(s.n, 1);
	ck_assert_str_eq(s.module, "");
	ck_assert_str_eq(s.body, "{\"temperature\":21.5}");
	ck_assert_str_eq(s.app, "{\"alert\":\"high\",\"unit\":\"deg C & more\"}");
	ck_assert_str_eq(json_str(s.sys, "message-id", buf, sizeof buf), "msg-h1");
	ck_assert_str_eq(json_str(s.sys, "correlation-id", buf, sizeof buf), "corr-h1");
	ck_assert_str_eq(json_str(s.sys, "to", buf, sizeof buf), "/devices/dev1/messages/events");
	ck_assert_str_eq(json_str(s.sys, "dt-subject", buf, sizeof buf), "thermostat1");
	ck_assert_str_eq(json_str(s.sys, "iothub-content-type", buf, sizeof buf), "application/json");
	ck_assert_str_eq(json_str(s.sys, "iothub-content-encoding", buf, sizeof buf), "utf-8");
	ck_assert_str_eq(json_str(s.sys, "iothub-interface-id", buf, sizeof buf),
			 "urn:azureiot:Security:SecurityAgent:1");
	ck_assert_str_eq(json_str(s.sys, "iothub-connection-device-id", buf, sizeof buf), "dev1");
	/* the header spelling is not kept */
	ck_assert_ptr_null(json_str(s.sys, "IoTHub-MessageId", buf, sizeof buf));
}
END_TEST

START_TEST(rest_handle_d2c_module_and_empty_body)
{
	header("iothub-app-m", "yes");
	ck_assert_int_eq(handle(REST_POST, "/devices/dev1/modules/mod1/messages/events", NULL, tok_mod1,
				NULL, 0), 204);
	struct d2c_seen s = last_d2c();
	char buf[64];
	ck_assert_str_eq(s.module, "mod1");
	ck_assert_uint_eq(s.body_len, 0);
	ck_assert_str_eq(s.app, "{\"m\":\"yes\"}");
	ck_assert_str_eq(json_str(s.sys, "iothub-connection-module-id", buf, sizeof buf), "mod1");
}
END_TEST

START_TEST(rest_handle_d2c_listed_name_without_app_prefix_ignored)
{
	/* a transport that lists more than it should cannot turn other headers into properties */
	header("iothub-app-", "empty name");
	app_names[n_app++] = strdup("iothub-apple");
	hdrs.pairs[hdrs.n][0] = "iothub-apple";
	hdrs.pairs[hdrs.n++][1] = "pie";
	ck_assert_int_eq(post_text(EVENTS, tok_dev1, "x"), 204);
	ck_assert_str_eq(last_d2c().app, "{}");
}
END_TEST

START_TEST(rest_handle_d2c_bad_header_text_400004)
{
	header("iothub-app-bin", "\xff\xfe");
	ck_assert_int_eq(post_text(EVENTS, tok_dev1, "x"), 400);
	ck_assert_int_eq(error_code(), 400004);
	header("iothub-messageid", "a\xc3");
	ck_assert_int_eq(post_text(EVENTS, tok_dev1, "x"), 400);
	ck_assert_int_eq(last_d2c().n, 0);
}
END_TEST

START_TEST(rest_handle_d2c_over_256k_413001)
{
	size_t n = 256 * 1024;
	char *big = malloc(n + 1);
	ck_assert_ptr_nonnull(big);
	memset(big, 'x', n + 1);
	ck_assert_int_eq(handle(REST_POST, EVENTS, NULL, tok_dev1, big, n + 1), 413);
	ck_assert_int_eq(error_code(), 413001);
	ck_assert_str_eq(resp.error_name, "MessageTooLarge");
	/* exactly the limit passes; one property byte more does not */
	ck_assert_int_eq(handle(REST_POST, EVENTS, NULL, tok_dev1, big, n), 204);
	header("iothub-app-k", "");
	ck_assert_int_eq(handle(REST_POST, EVENTS, NULL, tok_dev1, big, n), 413);
	ck_assert_int_eq(last_d2c().n, 1);
	free(big);
}
END_TEST

START_TEST(rest_handle_d2c_refused_tokens_401)
{
	ck_assert_int_eq(post_text(EVENTS, NULL, "x"), 401);
	ck_assert_int_eq(error_code(), 401003);
	ck_assert_str_eq(resp.error_name, "IotHubUnauthorized");
	ck_assert_int_eq(post_text(EVENTS, "SharedAccessSignature nonsense", "x"), 401);
	ck_assert_int_eq(post_text(EVENTS, tok_dev2, "x"), 401);
	ck_assert_int_eq(post_text("/devices/dev1/modules/mod1/messages/events", tok_dev1, "x"), 401);
	ck_assert_int_eq(post_text("/devices/ghost/messages/events", tok_dev1, "x"), 401);
	fake_now += 3601LL * 1000000;   /* the token has expired */
	ck_assert_int_eq(post_text(EVENTS, tok_dev1, "x"), 401);
	ck_assert_int_eq(last_d2c().n, 0);
}
END_TEST

START_TEST(rest_handle_d2c_batch_node_and_c_forms)
{
	/* trace: Node sendEventBatch */
	header("Content-Type", "application/vnd.microsoft.iothub.json");
	ck_assert_int_eq(post_text(EVENTS, tok_dev1,
				   "[{\"body\": \"b25l\", \"properties\":{\"iothub-app-k\":\"v\"}},"
				   "{\"body\": \"dHdv\"}]"), 204);
	/* the C SDK's string message; a charset parameter after the type */
	header("content-type", "application/vnd.microsoft.iothub.json; charset=utf-8");
	ck_assert_int_eq(post_text(EVENTS, tok_dev1,
				   "[{\"body\":\"{\\\"a\\\":1}\",\"base64Encoded\":false,\"properties\":"
				   "{\"iothub-app-x\":\"y\",\"IoTHub-MessageId\":\"c-1\",\"custom\":\"kept\"}}]"),
			 204);
	struct d2c_seen s = last_d2c();
	char buf[64];
	ck_assert_int_eq(s.n, 3);
	ck_assert_str_eq(s.body, "{\"a\":1}");
	ck_assert_str_eq(s.app, "{\"x\":\"y\",\"custom\":\"kept\"}");
	ck_assert_str_eq(json_str(s.sys, "message-id", buf, sizeof buf), "c-1");
}
END_TEST

START_TEST(rest_handle_d2c_batch_bad_items_store_nothing)
{
	static const char *const bad[] = {
		"[{\"body\":\"b25l\"},{\"body\":\"!!!\"}]",            /* second item not base64 */
		"[{\"body\":\"b25l\"},{\"nobody\":1}]",
		"[{\"body\":\"b25l\",\"base64Encoded\":\"yes\"}]",
		"[{\"body\":\"b25l\",\"properties\":[1]}]",
		"[{\"body\":\"b25l\",\"properties\":{\"iothub-app-n\":1}}]",
		"[{\"body\":\"b25l\",\"properties\":{\"\":\"v\"}}]",
		"[\"b25l\"]",
		"[]",
		"{\"body\":\"b25l\"}",
		"[{\"body\":\"b25l\"}",
		"",
	};
	for (size_t i = 0; i < NELEM(bad); i++) {
		header("Content-Type", "application/vnd.microsoft.iothub.json");
		ck_assert_msg(post_text(EVENTS, tok_dev1, bad[i]) == 400, "case %zu: %d", i, resp.status);
		ck_assert_int_eq(error_code(), 400004);
	}
	ck_assert_int_eq(last_d2c().n, 0);
}
END_TEST

/* --- C2D ------------------------------------------------------------------------------------- */

static void queue(const char *mid, const char *body, const cJSON *app)
{
	struct hub_c2d_send m;
	memset(&m, 0, sizeof m);
	m.body = body;
	m.len = strlen(body);
	m.message_id = mid;
	m.app = app;
	ck_assert_int_eq(hub_c2d_send(hub, "dev1", &m, NULL, &err), SH_OK);
}

/* Receive; returns the lock token (static buffer) of a 200, or NULL for a 204. */
static const char *receive(void)
{
	static char lock[64];
	int status = handle(REST_GET, BOUND, "api-version=2021-04-12", tok_dev1, NULL, 0);
	if (status == 204)
		return NULL;
	ck_assert_int_eq(status, 200);
	snprintf(lock, sizeof lock, "%s", resp.etag);
	return lock;
}

START_TEST(rest_handle_c2d_empty_queue_204)
{
	ck_assert_ptr_null(receive());
	ck_assert_ptr_null(resp.body);
	ck_assert_uint_eq(resp.n_headers, 0);
	ck_assert_str_eq(resp.etag, "");
}
END_TEST

START_TEST(rest_handle_c2d_receive_exact_headers)
{
	struct hub_c2d_send m;
	memset(&m, 0, sizeof m);
	m.body = "hello over http";
	m.len = 15;
	m.message_id = "c2d-1";
	m.correlation_id = "corr-9";
	m.user_id = "svc";
	m.content_type = "application/json";
	m.content_encoding = "utf-8";
	m.ack = "full";
	cJSON *app = cJSON_CreateObject();
	cJSON_AddStringToObject(app, "color", "green");
	m.app = app;
	ck_assert_int_eq(hub_c2d_send(hub, "dev1", &m, NULL, &err), SH_OK);
	cJSON_Delete(app);
	const char *lock = receive();
	ck_assert_ptr_nonnull(lock);
	ck_assert_uint_gt(strlen(lock), 8);
	ck_assert_uint_eq(resp.body_len, 15);
	ck_assert(memcmp(resp.body, "hello over http", 15) == 0);
	ck_assert_str_eq(resp.content_type, "application/octet-stream");
	static const char *const want[][2] = {
		{"iothub-messageid", "c2d-1"},
		{"iothub-to", "/devices/dev1/messages/devicebound"},
		{"iothub-correlationid", "corr-9"},
		{"iothub-userid", "svc"},
		{"iothub-ack", "full"},
		{"iothub-deliverycount", "0"},
		{"iothub-app-color", "green"},
		{"ContentType", "application/json"},
		{"ContentEncoding", "utf-8"},
		{"iothub-enqueuedtime", "2023-11-14T22:13:20.0000000Z"},
		{"iothub-expiry", "2023-11-14T23:13:20.0000000Z"},   /* the hub's default TTL: 1 h */
	};
	for (size_t i = 0; i < NELEM(want); i++) {
		const char *v = resp_header(want[i][0]);
		ck_assert_msg(v != NULL, "no %s", want[i][0]);
		ck_assert_str_eq(v, want[i][1]);
	}
	ck_assert_ptr_nonnull(resp_header("iothub-sequencenumber"));
	/* nothing in another spelling */
	ck_assert_ptr_null(resp_header("IoTHub-MessageId"));
	ck_assert_ptr_null(resp_header("iothub-contenttype"));
}
END_TEST

START_TEST(rest_handle_c2d_unsafe_properties_left_out)
{
	cJSON *app = cJSON_CreateObject();
	cJSON_AddStringToObject(app, "bad name", "1");
	cJSON_AddStringToObject(app, "colon:name", "1");
	cJSON_AddStringToObject(app, "crlf", "a\r\nX-Injected: 2");
	cJSON_AddStringToObject(app, "tab", "a\tb");
	cJSON_AddStringToObject(app, "fine", "yes");
	queue("bad\r\nX-Injected: 1", "x", app);
	cJSON_Delete(app);
	ck_assert_ptr_nonnull(receive());
	for (size_t i = 0; i < resp.n_headers; i++) {
		ck_assert_ptr_null(strchr(resp.headers[i].value, '\r'));
		ck_assert_ptr_null(strchr(resp.headers[i].value, '\n'));
		ck_assert_ptr_null(strchr(resp.headers[i].name, ' '));
	}
	ck_assert_ptr_null(resp_header("iothub-messageid"));
	ck_assert_ptr_null(resp_header("iothub-app-crlf"));
	ck_assert_ptr_null(resp_header("iothub-app-colon:name"));
	ck_assert_str_eq(resp_header("iothub-app-tab"), "a\tb");
	ck_assert_str_eq(resp_header("iothub-app-fine"), "yes");
}
END_TEST

START_TEST(rest_handle_c2d_complete_twice_412002)
{
	queue("m1", "one", NULL);
	char lock[64];
	snprintf(lock, sizeof lock, "%s", receive());
	ck_assert_ptr_null(receive());                 /* locked: not delivered again */
	char path[256];
	snprintf(path, sizeof path, BOUND "/%s", lock);
	ck_assert_int_eq(handle(REST_DELETE, path, "api-version=1", tok_dev1, NULL, 0), 204);
	ck_assert_int_eq(handle(REST_DELETE, path, "api-version=1", tok_dev1, NULL, 0), 412);
	ck_assert_int_eq(error_code(), 412002);
	ck_assert_str_eq(resp.error_name, "DeviceMessageLockLost");
	/* a lock token longer than any the hub makes */
	char longpath[300];
	memset(lock, 'a', 63);
	lock[63] = '\0';
	snprintf(longpath, sizeof longpath, BOUND "/%s%s", lock, lock);
	ck_assert_int_eq(handle(REST_DELETE, longpath, NULL, tok_dev1, NULL, 0), 412);
	ck_assert_int_eq(error_code(), 412002);
	ck_assert_ptr_null(receive());
}
END_TEST

START_TEST(rest_handle_c2d_abandon_then_reject)
{
	queue("m1", "one", NULL);
	char lock[64], path[256];
	snprintf(lock, sizeof lock, "%s", receive());
	snprintf(path, sizeof path, BOUND "/%s/abandon", lock);
	ck_assert_int_eq(handle(REST_POST, path, NULL, tok_dev1, NULL, 0), 204);
	const char *again = receive();
	ck_assert_ptr_nonnull(again);
	ck_assert_str_ne(again, lock);
	ck_assert_str_eq(resp_header("iothub-deliverycount"), "1");
	ck_assert_str_eq(resp_header("iothub-messageid"), "m1");
	snprintf(path, sizeof path, "/devices/dev1/messages/deviceBound/%s", again);
	ck_assert_int_eq(handle(REST_DELETE, path, "api-version=2021-04-12&reject", tok_dev1, NULL, 0),
			 204);
	ck_assert_ptr_null(receive());                 /* dead-lettered, not queued again */
	/* another device cannot touch dev1's queue */
	queue("m2", "two", NULL);
	ck_assert_int_eq(handle(REST_GET, BOUND, NULL, tok_dev2, NULL, 0), 401);
	ck_assert_ptr_nonnull(receive());
}
END_TEST

int main(void)
{
	Suite *s = suite_create("rest_device_api");
	TCase *tc = tcase_create("rest_query_has");
	tcase_add_test(tc, rest_query_has_flag_forms);
	suite_add_tcase(s, tc);
	tc = tcase_create("rest_response_add_header");
	tcase_add_test(tc, rest_response_add_header_copies_and_frees);
	suite_add_tcase(s, tc);
	tc = tcase_create("rest_handle");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, rest_handle_d2c_node_headers_stored_canonical);
	tcase_add_test(tc, rest_handle_d2c_module_and_empty_body);
	tcase_add_test(tc, rest_handle_d2c_listed_name_without_app_prefix_ignored);
	tcase_add_test(tc, rest_handle_d2c_bad_header_text_400004);
	tcase_add_test(tc, rest_handle_d2c_over_256k_413001);
	tcase_add_test(tc, rest_handle_d2c_refused_tokens_401);
	tcase_add_test(tc, rest_handle_d2c_batch_node_and_c_forms);
	tcase_add_test(tc, rest_handle_d2c_batch_bad_items_store_nothing);
	tcase_add_test(tc, rest_handle_c2d_empty_queue_204);
	tcase_add_test(tc, rest_handle_c2d_receive_exact_headers);
	tcase_add_test(tc, rest_handle_c2d_unsafe_properties_left_out);
	tcase_add_test(tc, rest_handle_c2d_complete_twice_412002);
	tcase_add_test(tc, rest_handle_c2d_abandon_then_reject);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
