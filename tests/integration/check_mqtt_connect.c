/*
 * check_mqtt_connect.c: CONNECT against a real `simhub serve` (iothub-protocol.md §1.3, §2.2-§2.4,
 * docs/differences.md): accepted token shapes and transports, every refusal with its exact CONNACK
 * and close, one connection per identity, clean session, keep-alive, SAS expiry, connection rows.
 * It never looks inside simhub: only bytes on the wire and rows in the database file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "harness.h"

/* Rows of connection_events for an identity with this event (and reason, when not NULL). */
static int64_t events(const char *dev, const char *mod, const char *event, const char *reason)
{
	if (reason)
		return hx_db_int("SELECT count(*) FROM connection_events WHERE device_id = %Q AND "
				 "module_id = %Q AND event = %Q AND reason = %Q",
				 dev, mod ? mod : "", event, reason);
	return hx_db_int("SELECT count(*) FROM connection_events WHERE device_id = %Q AND "
			 "module_id = %Q AND event = %Q",
			 dev, mod ? mod : "", event);
}

/* devices.connected or modules.connected of an identity. */
static int64_t connected_flag(const char *dev, const char *mod)
{
	if (mod && mod[0])
		return hx_db_int("SELECT connected FROM modules WHERE device_id = %Q AND module_id = %Q",
				 dev, mod);
	return hx_db_int("SELECT connected FROM devices WHERE device_id = %Q", dev);
}

/*
 * Send one CONNECT over raw TCP and check the answer byte for byte: exactly CONNACK `code`.
 * Accepted: the connection then answers a PINGREQ. Refused: the hub closes it, no connect row
 * is written for the identity, and a client that was connected before still works.
 */
static void expect_connack(const struct hx_connect *c, uint8_t code, const char *dev,
			   const char *mod, const char *what)
{
	struct hx_mq *healthy = hx_healthy();
	int fd = hx_raw_open(hx_hub()->mqtt);
	struct hx_buf b = {0};
	hx_pkt_connect(&b, c);
	hx_raw_send_buf(fd, &b);
	const uint8_t want[] = {0x20, 0x02, 0x00, code};
	hx_raw_expect(fd, want, sizeof want, what);
	if (code == 0) {
		hx_raw_ping(fd);
		ck_assert_msg(connected_flag(dev, mod) == 1, "%s: identity not marked connected", what);
		ck_assert_msg(events(dev, mod, "connect", "mqtt") == 1, "%s: no connect row", what);
	} else {
		hx_raw_expect_closed(fd, HX_WAIT_MS, what);
		ck_assert_msg(events(dev, mod, "connect", NULL) == 0, "%s: a refused CONNECT left a "
			      "connect row", what);
	}
	hx_healthy_check(healthy, what);
}

/* A CONNECT for an identity with this password (username and client id of the identity). */
static struct hx_connect connect_for(const char *dev, const char *mod, const char *password)
{
	struct hx_connect c = {
		.client_id = hx_client_id(dev, mod),
		.username = hx_username(dev, mod),
		.password = password,
		.keepalive = 60,
	};
	return c;
}

/* A token in `style` for (dev, mod)'s resource, signed with key (skn policy), expiring in `ttl` s. */
static const char *token(enum hx_sas_style style, const char *dev, const char *mod, const char *key,
			 const char *policy, int64_t ttl)
{
	char *t = hx_keep(malloc(HX_TOKEN_MAX));
	hx_sas(t, style, hx_resource(dev, mod), key, policy, hx_wall_s() + ttl);
	return t;
}

static void expect_token(const char *dev, const char *mod, const char *tok, uint8_t code,
			 const char *what)
{
	struct hx_connect c = connect_for(dev, mod, tok);
	expect_connack(&c, code, dev, mod, hx_fmt("%s (token %s)", what, tok));
}

/* --- accepted: transports and identities ------------------------------------------------------ */

/* A libmosquitto client connects, is recorded as connected (reason = transport), then leaves. */
static void connect_and_leave(const char *dev, const char *mod, const char *key, bool tls)
{
	struct hx_mq *c = hx_mq_device(dev, mod, key, tls);
	const char *transport = tls ? "mqtts" : "mqtt";
	ck_assert_int_eq(connected_flag(dev, mod), 1);
	ck_assert_int_eq(events(dev, mod, "connect", transport), 1);
	/* The connection really works: subscribe and get a twin answer back. */
	ck_assert_int_eq(hx_mq_subscribe(c, "$iothub/twin/res/#", 0), 0);
	ck_assert(hx_mq_publish(c, "$iothub/twin/GET/?$rid=1", "", 0, 0, false));
	hx_mq_expect(c, "$iothub/twin/res/200/?$rid=1");
	hx_mq_disconnect(c);
	ck_assert_msg(hx_db_wait_int(1, "SELECT count(*) FROM connection_events WHERE device_id = %Q "
				     "AND module_id = %Q AND event = 'disconnect' AND reason = "
				     "'client-disconnect'", dev, mod ? mod : ""),
		      "no disconnect row after DISCONNECT");
	ck_assert_int_eq(connected_flag(dev, mod), 0);
}

START_TEST(connect_device_tcp_accepted)
{
	connect_and_leave(HX_DEV1, NULL, HX_DEV1_KEY, false);
}
END_TEST

START_TEST(connect_device_tls_accepted)
{
	connect_and_leave(HX_DEV1, NULL, HX_DEV1_KEY, true);
}
END_TEST

START_TEST(connect_module_tcp_accepted)
{
	connect_and_leave(HX_GW, HX_MOD, HX_GW_M1_KEY, false);
	/* The module's connection is its own: the parent device was never connected. */
	ck_assert_int_eq(events(HX_GW, NULL, "connect", NULL), 0);
}
END_TEST

START_TEST(connect_module_tls_accepted)
{
	connect_and_leave(HX_GW, HX_MOD, HX_GW_M1_KEY, true);
}
END_TEST

/* A device and its module are two identities: both stay connected side by side. */
START_TEST(connect_device_and_module_both_stay)
{
	struct hx_mq *d = hx_mq_device(HX_GW, NULL, HX_GW_KEY, false);
	struct hx_mq *m = hx_mq_device(HX_GW, HX_MOD, HX_GW_M1_KEY, true);
	ck_assert(hx_mq_publish(d, "devices/gw/messages/events/", "d", 1, 1, false));
	ck_assert(hx_mq_publish(m, "devices/gw/modules/m1/messages/events/", "m", 1, 1, false));
	ck_assert(hx_mq_connected(d) && hx_mq_connected(m));
	ck_assert_int_eq(connected_flag(HX_GW, NULL), 1);
	ck_assert_int_eq(connected_flag(HX_GW, HX_MOD), 1);
}
END_TEST

/* --- accepted: token shapes (§1.3) ------------------------------------------------------------ */

START_TEST(connect_token_node_encoded_sr_accepted)
{
	const char *t = token(HX_SAS_NODE, HX_DEV1, NULL, HX_DEV1_KEY, NULL, 3600);
	ck_assert_msg(strstr(t, "sr=" HX_HOST "%2Fdevices%2Fdev1&") != NULL, "not Node-shaped: %s", t);
	expect_token(HX_DEV1, NULL, t, 0, "Node token");
}
END_TEST

START_TEST(connect_token_csdk_raw_sr_empty_skn_accepted)
{
	const char *t = token(HX_SAS_CSDK, HX_DEV1, NULL, HX_DEV1_KEY, NULL, 3600);
	ck_assert_msg(strstr(t, "sr=" HX_HOST "/devices/dev1&") && strstr(t, "&skn=") &&
			      t[strlen(t) - 1] == '=',
		      "not C-SDK-shaped: %s", t);
	expect_token(HX_DEV1, NULL, t, 0, "C SDK token");
}
END_TEST

START_TEST(connect_token_docs_lowercase_hex_accepted)
{
	const char *t = token(HX_SAS_DOCS, HX_DEV1, NULL, HX_DEV1_KEY, NULL, 3600);
	ck_assert_msg(strstr(t, "&sr=" HX_HOST "%2fdevices%2fdev1") != NULL, "not docs-shaped: %s", t);
	expect_token(HX_DEV1, NULL, t, 0, "docs token");
}
END_TEST

START_TEST(connect_token_module_csdk_accepted)
{
	const char *t = token(HX_SAS_CSDK, HX_GW, HX_MOD, HX_GW_M1_KEY, NULL, 3600);
	expect_token(HX_GW, HX_MOD, t, 0, "C SDK module token");
}
END_TEST

START_TEST(connect_token_secondary_key_accepted)
{
	const char *t = token(HX_SAS_NODE, HX_DEV1, NULL, HX_DEV1_KEY2, NULL, 3600);
	expect_token(HX_DEV1, NULL, t, 0, "secondary key");
}
END_TEST

START_TEST(connect_token_device_policy_accepted)
{
	const char *t = token(HX_SAS_NODE, HX_DEV1, NULL, HX_DEVICE_POLICY_KEY, "device", 3600);
	ck_assert_msg(strstr(t, "&skn=device") != NULL, "no skn: %s", t);
	expect_token(HX_DEV1, NULL, t, 0, "skn=device");
}
END_TEST

START_TEST(connect_token_owner_policy_docs_accepted)
{
	const char *t = token(HX_SAS_DOCS, HX_DEV1, NULL, HX_OWNER_KEY, "iothubowner", 3600);
	expect_token(HX_DEV1, NULL, t, 0, "skn=iothubowner, docs shape");
}
END_TEST

/* docs/differences.md: the host part of sr is not compared (clients sign for their HostName). */
START_TEST(connect_token_other_host_accepted)
{
	char t[HX_TOKEN_MAX];
	hx_sas(t, HX_SAS_NODE, "realhub.azure-devices.net/devices/dev1", HX_DEV1_KEY, NULL,
	       hx_wall_s() + 3600);
	expect_token(HX_DEV1, NULL, hx_fmt("%s", t), 0, "sr with another host");
}
END_TEST

/* --- refused: credentials (CONNACK 5) --------------------------------------------------------- */

START_TEST(connect_wrong_key_refused_5)
{
	expect_token(HX_DEV1, NULL, token(HX_SAS_NODE, HX_DEV1, NULL, HX_UNUSED_KEY, NULL, 3600), 5,
		     "wrong key");
}
END_TEST

START_TEST(connect_expired_token_refused_5)
{
	expect_token(HX_DEV1, NULL, token(HX_SAS_NODE, HX_DEV1, NULL, HX_DEV1_KEY, NULL, -1), 5,
		     "expired token");
}
END_TEST

START_TEST(connect_other_device_token_refused_5)
{
	/* dev2's own, valid token, presented by a client that says it is dev1 (scope). */
	expect_token(HX_DEV1, NULL, token(HX_SAS_NODE, HX_DEV2, NULL, HX_DEV2_KEY, NULL, 3600), 5,
		     "dev2's token for dev1");
}
END_TEST

START_TEST(connect_prefix_device_token_refused_5)
{
	/* A token for "dev" must not cover "dev1": scopes match by whole path segment. */
	char t[HX_TOKEN_MAX];
	hx_sas(t, HX_SAS_NODE, HX_HOST "/devices/dev", HX_DEV1_KEY, NULL, hx_wall_s() + 3600);
	expect_token(HX_DEV1, NULL, hx_fmt("%s", t), 5, "token for devices/dev");
}
END_TEST

START_TEST(connect_unknown_device_refused_5)
{
	expect_token("ghost", NULL, token(HX_SAS_NODE, "ghost", NULL, HX_UNUSED_KEY, NULL, 3600), 5,
		     "unknown device");
}
END_TEST

START_TEST(connect_unknown_module_refused_5)
{
	expect_token(HX_GW, "m9", token(HX_SAS_NODE, HX_GW, "m9", HX_GW_KEY, NULL, 3600), 5,
		     "unknown module");
}
END_TEST

START_TEST(connect_module_token_for_device_refused_5)
{
	expect_token(HX_GW, NULL, token(HX_SAS_NODE, HX_GW, HX_MOD, HX_GW_M1_KEY, NULL, 3600), 5,
		     "module token for its device");
}
END_TEST

START_TEST(connect_device_token_for_module_refused_5)
{
	/* The scope covers the module, but the device key is not the module's key. */
	char t[HX_TOKEN_MAX];
	hx_sas(t, HX_SAS_NODE, hx_resource(HX_GW, NULL), HX_GW_KEY, NULL, hx_wall_s() + 3600);
	expect_token(HX_GW, HX_MOD, hx_fmt("%s", t), 5, "device token for its module");
}
END_TEST

START_TEST(connect_service_policy_refused_5)
{
	expect_token(HX_DEV1, NULL,
		     token(HX_SAS_NODE, HX_DEV1, NULL, HX_SERVICE_POLICY_KEY, "service", 3600), 5,
		     "skn=service (no DeviceConnect)");
}
END_TEST

START_TEST(connect_unknown_policy_refused_5)
{
	expect_token(HX_DEV1, NULL,
		     token(HX_SAS_NODE, HX_DEV1, NULL, HX_DEVICE_POLICY_KEY, "nosuchpolicy", 3600), 5,
		     "skn of no policy");
}
END_TEST

START_TEST(connect_policy_wrong_key_refused_5)
{
	expect_token(HX_DEV1, NULL, token(HX_SAS_NODE, HX_DEV1, NULL, HX_DEV1_KEY, "device", 3600), 5,
		     "skn=device signed with the device key");
}
END_TEST

START_TEST(connect_no_password_refused_5)
{
	expect_token(HX_DEV1, NULL, NULL, 5, "no password");
}
END_TEST

START_TEST(connect_password_not_sas_refused_5)
{
	expect_token(HX_DEV1, NULL, "hunter2", 5, "password that is no SAS token");
	expect_token(HX_DEV1, NULL, "SharedAccessSignature sr=x", 5, "token without sig and se");
}
END_TEST

START_TEST(connect_x509_device_with_token_refused_5)
{
	expect_token(HX_X509DEV, NULL, token(HX_SAS_NODE, HX_X509DEV, NULL, HX_UNUSED_KEY, NULL, 3600),
		     5, "SAS token for a selfSigned device");
}
END_TEST

/* --- refused: disabled (CONNACK 3) ------------------------------------------------------------ */

START_TEST(connect_disabled_device_refused_3)
{
	expect_token(HX_DEVOFF, NULL, token(HX_SAS_NODE, HX_DEVOFF, NULL, HX_DEVOFF_KEY, NULL, 3600), 3,
		     "disabled device");
}
END_TEST

START_TEST(connect_module_of_disabled_device_refused_3)
{
	expect_token(HX_PARENTOFF, HX_MOD,
		     token(HX_SAS_NODE, HX_PARENTOFF, HX_MOD, HX_PARENTOFF_M1_KEY, NULL, 3600), 3,
		     "enabled module of a disabled device");
}
END_TEST

/* --- refused: identity fields (CONNACK 2 and 4) and protocol level (CONNACK 1) ---------------- */

START_TEST(connect_no_username_refused_4)
{
	struct hx_connect c = connect_for(HX_DEV1, NULL, NULL);
	c.username = NULL;
	expect_connack(&c, 4, HX_DEV1, NULL, "no username");
}
END_TEST

START_TEST(connect_bad_username_refused_4)
{
	struct hx_connect c = connect_for(HX_DEV1, NULL, hx_token(HX_DEV1, NULL, HX_DEV1_KEY));
	c.username = "garbage";
	expect_connack(&c, 4, HX_DEV1, NULL, "username 'garbage'");
	c.username = HX_HOST "/dev1/api-version=" HX_API;   /* no "/?" */
	expect_connack(&c, 4, HX_DEV1, NULL, "username without /?");
}
END_TEST

START_TEST(connect_username_other_device_refused_2)
{
	struct hx_connect c = connect_for(HX_DEV1, NULL, hx_token(HX_DEV1, NULL, HX_DEV1_KEY));
	c.username = hx_username(HX_DEV2, NULL);
	expect_connack(&c, 2, HX_DEV1, NULL, "client id dev1, username dev2");
}
END_TEST

START_TEST(connect_module_client_id_device_username_refused_2)
{
	struct hx_connect c = connect_for(HX_GW, HX_MOD, hx_token(HX_GW, HX_MOD, HX_GW_M1_KEY));
	c.username = hx_username(HX_GW, NULL);
	expect_connack(&c, 2, HX_GW, HX_MOD, "client id gw/m1, username gw");
}
END_TEST

START_TEST(connect_bad_client_id_refused_2)
{
	struct hx_connect c = connect_for(HX_DEV1, NULL, hx_token(HX_DEV1, NULL, HX_DEV1_KEY));
	c.client_id = "dev1/m1/x";
	expect_connack(&c, 2, HX_DEV1, NULL, "client id with two slashes");
	c.client_id = "dev 1";
	expect_connack(&c, 2, HX_DEV1, NULL, "client id with a space");
	c.client_id = "dev1/";
	expect_connack(&c, 2, HX_DEV1, NULL, "client id with an empty module");
}
END_TEST

START_TEST(connect_empty_client_id_refused_2)
{
	struct hx_connect c = connect_for(HX_DEV1, NULL, hx_token(HX_DEV1, NULL, HX_DEV1_KEY));
	c.client_id = "";
	expect_connack(&c, 2, HX_DEV1, NULL, "empty client id, clean session 0");
	c.clean = true;
	expect_connack(&c, 2, HX_DEV1, NULL, "empty client id, clean session 1");
}
END_TEST

START_TEST(connect_protocol_level_3_refused_1)
{
	struct hx_connect c = connect_for(HX_DEV1, NULL, hx_token(HX_DEV1, NULL, HX_DEV1_KEY));
	c.level = 3;
	expect_connack(&c, 1, HX_DEV1, NULL, "protocol level 3");
	c.level = 5;
	expect_connack(&c, 1, HX_DEV1, NULL, "protocol level 5");
}
END_TEST

/* A Will topic that is not the identity's telemetry topic: closed at CONNECT (differences.md). */
START_TEST(connect_foreign_will_topic_closed)
{
	struct hx_mq *healthy = hx_healthy();
	struct hx_connect c = connect_for(HX_DEV1, NULL, hx_token(HX_DEV1, NULL, HX_DEV1_KEY));
	c.will_topic = "devices/dev2/messages/events/";
	c.will_payload = "x";
	c.will_len = 1;
	int fd = hx_raw_open(hx_hub()->mqtt);
	struct hx_buf b = {0};
	hx_pkt_connect(&b, &c);
	hx_raw_send_buf(fd, &b);
	hx_raw_expect_closed(fd, HX_WAIT_MS, "Will on dev2's topic");
	ck_assert_int_eq(events(HX_DEV1, NULL, "connect", NULL), 0);
	hx_healthy_check(healthy, "a foreign Will topic");
}
END_TEST

/* --- one connection per identity, keep-alive, SAS expiry -------------------------------------- */

START_TEST(connect_second_connection_drops_first)
{
	int first = hx_raw_device(HX_DEV1, NULL, HX_DEV1_KEY, 60);
	hx_raw_ping(first);
	int second = hx_raw_device(HX_DEV1, NULL, HX_DEV1_KEY, 60);
	hx_raw_expect_closed(first, HX_WAIT_MS, "the first connection of dev1");
	hx_raw_ping(second);
	ck_assert_msg(hx_db_wait_int(1, "SELECT count(*) FROM connection_events WHERE device_id = 'dev1' "
				     "AND event = 'disconnect' AND reason = '400027-new-connection'"),
		      "no 400027 disconnect row for the dropped connection");
	/* The newer connection is the identity's: still marked connected, and it works. */
	ck_assert_int_eq(connected_flag(HX_DEV1, NULL), 1);
	ck_assert_int_eq(events(HX_DEV1, NULL, "connect", NULL), 2);
	hx_raw_ping(second);
}
END_TEST

START_TEST(connect_second_connection_other_transport_drops_first)
{
	struct hx_mq *tls = hx_mq_device(HX_GW, HX_MOD, HX_GW_M1_KEY, true);
	int tcp = hx_raw_device(HX_GW, HX_MOD, HX_GW_M1_KEY, 60);
	ck_assert_msg(hx_mq_wait_closed(tls, HX_WAIT_MS), "the TLS connection of gw/m1 was not dropped");
	hx_raw_ping(tcp);
}
END_TEST

START_TEST(connect_keepalive_silent_client_closed)
{
	int64_t t0 = hx_mono_ms();
	int fd = hx_raw_device(HX_DEV1, NULL, HX_DEV1_KEY, 1);
	hx_raw_expect_closed(fd, 6000, "a silent client with keep-alive 1 s");
	int64_t took = hx_mono_ms() - t0;
	/* MQTT 3.1.1 §3.1.2.10: closed after 1.5 keep-alive periods of silence, not before; the
	 * hub sweeps its timers once a second, hence the upper bound. */
	ck_assert_msg(took >= 1450 && took <= 4000, "closed after %lld ms, want 1.5 s to 4 s",
		      (long long)took);
	ck_assert_msg(hx_db_wait_int(1, "SELECT count(*) FROM connection_events WHERE device_id = 'dev1' "
				     "AND event = 'disconnect' AND reason = 'keepalive-timeout'"),
		      "no keepalive-timeout disconnect row");
	ck_assert_int_eq(connected_flag(HX_DEV1, NULL), 0);
}
END_TEST

START_TEST(connect_keepalive_pinging_client_stays)
{
	int fd = hx_raw_device(HX_DEV1, NULL, HX_DEV1_KEY, 1);
	/* 3.5 s of pings every 0.5 s: well past 1.5 keep-alive periods, never silent for one. */
	for (int i = 0; i < 7; i++) {
		ck_assert_msg(hx_raw_quiet(fd, 500), "the hub sent or closed something at ping %d", i);
		hx_raw_ping(fd);
	}
	ck_assert_int_eq(events(HX_DEV1, NULL, "disconnect", NULL), 0);
}
END_TEST

START_TEST(connect_sas_expiry_closes_connection)
{
	int64_t se = hx_wall_s() + 2;
	char t[HX_TOKEN_MAX];
	hx_sas(t, HX_SAS_NODE, hx_resource(HX_DEV1, NULL), HX_DEV1_KEY, NULL, se);
	struct hx_connect c = connect_for(HX_DEV1, NULL, hx_fmt("%s", t));
	int fd = hx_raw_open(hx_hub()->mqtt);
	struct hx_buf b = {0};
	hx_pkt_connect(&b, &c);
	hx_raw_send_buf(fd, &b);
	static const uint8_t ok[] = {0x20, 0x02, 0x00, 0x00};
	hx_raw_expect(fd, ok, sizeof ok, "CONNACK with a token expiring in 2 s");
	hx_raw_ping(fd);
	hx_raw_expect_closed(fd, 6000, "connection whose token expired");
	int64_t now = hx_wall_s();
	ck_assert_msg(now >= se, "closed at %lld, before the token's expiry %lld", (long long)now,
		      (long long)se);
	ck_assert_msg(hx_db_wait_int(1, "SELECT count(*) FROM connection_events WHERE device_id = 'dev1' "
				     "AND event = 'disconnect' AND reason = 'sas-token-expired'"),
		      "no sas-token-expired disconnect row");
}
END_TEST

/* CONNECT dev1 (clean session as given) over raw TCP; fail unless exactly CONNACK 0 with `present`. */
static int connect_session(bool clean, uint8_t present)
{
	int fd = hx_raw_open(hx_hub()->mqtt);
	struct hx_connect c = connect_for(HX_DEV1, NULL, hx_token(HX_DEV1, NULL, HX_DEV1_KEY));
	c.clean = clean;
	struct hx_buf b = {0};
	hx_pkt_connect(&b, &c);
	hx_raw_send_buf(fd, &b);
	const uint8_t want[] = {0x20, 0x02, present, 0x00};
	hx_raw_expect(fd, want, sizeof want, hx_fmt("CONNACK, clean session %d", clean));
	return fd;
}

static void disconnect_cleanly(int fd)
{
	static const uint8_t disconnect[] = {0xe0, 0x00};
	hx_raw_send_ok(fd, disconnect, sizeof disconnect);
	hx_raw_expect_closed(fd, HX_WAIT_MS, "after DISCONNECT");
	hx_raw_close(fd);
}

/* Send a twin GET, then a PINGREQ: the next packet is the answer (answered) or the PINGRESP. */
static void twin_get_answered(int fd, bool answered)
{
	struct hx_buf b = {0};
	const char get[] = "$iothub/twin/GET/?$rid=s";
	hx_pkt_publish(&b, get, strlen(get), "", 0, 0, false, 0);
	hx_put_u8(&b, 0xc0);
	hx_put_u8(&b, 0x00);
	hx_raw_send_buf(fd, &b);
	struct hx_packet p;
	hx_raw_packet(fd, &p, "twin answer or PINGRESP");
	if (answered) {
		ck_assert_msg(p.first == 0x30 && strcmp(p.topic, "$iothub/twin/res/200/?$rid=s") == 0,
			      "expected the twin answer, got packet %02x", p.first);
		hx_raw_packet(fd, &p, "PINGRESP");
	}
	ck_assert_msg(p.first == 0xd0 && p.len == 0, "expected PINGRESP, got packet %02x", p.first);
}

/*
 * Clean session 0 (what the SDKs use): the subscriptions of the last session come back and the
 * CONNACK says session present; clean session 1 forgets them (§2.2, MQTT 3.1.1 §3.2.2.2).
 */
START_TEST(connect_clean_session_0_resumes_subscriptions)
{
	int fd = connect_session(false, 0);
	hx_raw_subscribe(fd, 1, "$iothub/twin/res/#", 0);
	twin_get_answered(fd, true);
	disconnect_cleanly(fd);
	fd = connect_session(false, 1);
	twin_get_answered(fd, true);   /* subscribed without a new SUBSCRIBE */
	disconnect_cleanly(fd);
	fd = connect_session(true, 0);
	twin_get_answered(fd, false);
	disconnect_cleanly(fd);
	fd = connect_session(false, 0);   /* clean session 1 dropped what was kept */
	twin_get_answered(fd, false);
}
END_TEST

/* An abnormal close (socket gone, no DISCONNECT) is recorded as connection-lost. */
START_TEST(connect_abnormal_close_recorded)
{
	int fd = hx_raw_device(HX_GW, HX_MOD, HX_GW_M1_KEY, 60);
	ck_assert_int_eq(connected_flag(HX_GW, HX_MOD), 1);
	hx_raw_close(fd);
	ck_assert_msg(hx_db_wait_int(1, "SELECT count(*) FROM connection_events WHERE device_id = 'gw' "
				     "AND module_id = 'm1' AND event = 'disconnect' AND reason = "
				     "'connection-lost'"),
		      "no connection-lost disconnect row");
	ck_assert_int_eq(connected_flag(HX_GW, HX_MOD), 0);
	const char *t = hx_db_text("SELECT connection_state_updated_us > 0 AND last_activity_us > 0 "
				   "FROM modules WHERE device_id = 'gw' AND module_id = 'm1'");
	ck_assert_msg(t && strcmp(t, "1") == 0, "connection times not recorded");
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("mqtt_connect");
	TCase *tc = hx_tcase("connect_accepted");
	tcase_add_test(tc, connect_device_tcp_accepted);
	tcase_add_test(tc, connect_device_tls_accepted);
	tcase_add_test(tc, connect_module_tcp_accepted);
	tcase_add_test(tc, connect_module_tls_accepted);
	tcase_add_test(tc, connect_device_and_module_both_stay);
	suite_add_tcase(s, tc);

	tc = hx_tcase("connect_token_shapes");
	tcase_add_test(tc, connect_token_node_encoded_sr_accepted);
	tcase_add_test(tc, connect_token_csdk_raw_sr_empty_skn_accepted);
	tcase_add_test(tc, connect_token_docs_lowercase_hex_accepted);
	tcase_add_test(tc, connect_token_module_csdk_accepted);
	tcase_add_test(tc, connect_token_secondary_key_accepted);
	tcase_add_test(tc, connect_token_device_policy_accepted);
	tcase_add_test(tc, connect_token_owner_policy_docs_accepted);
	tcase_add_test(tc, connect_token_other_host_accepted);
	suite_add_tcase(s, tc);

	tc = hx_tcase("connect_refused");
	tcase_add_test(tc, connect_wrong_key_refused_5);
	tcase_add_test(tc, connect_expired_token_refused_5);
	tcase_add_test(tc, connect_other_device_token_refused_5);
	tcase_add_test(tc, connect_prefix_device_token_refused_5);
	tcase_add_test(tc, connect_unknown_device_refused_5);
	tcase_add_test(tc, connect_unknown_module_refused_5);
	tcase_add_test(tc, connect_module_token_for_device_refused_5);
	tcase_add_test(tc, connect_device_token_for_module_refused_5);
	tcase_add_test(tc, connect_service_policy_refused_5);
	tcase_add_test(tc, connect_unknown_policy_refused_5);
	tcase_add_test(tc, connect_policy_wrong_key_refused_5);
	tcase_add_test(tc, connect_no_password_refused_5);
	tcase_add_test(tc, connect_password_not_sas_refused_5);
	tcase_add_test(tc, connect_x509_device_with_token_refused_5);
	tcase_add_test(tc, connect_disabled_device_refused_3);
	tcase_add_test(tc, connect_module_of_disabled_device_refused_3);
	tcase_add_test(tc, connect_no_username_refused_4);
	tcase_add_test(tc, connect_bad_username_refused_4);
	tcase_add_test(tc, connect_username_other_device_refused_2);
	tcase_add_test(tc, connect_module_client_id_device_username_refused_2);
	tcase_add_test(tc, connect_bad_client_id_refused_2);
	tcase_add_test(tc, connect_empty_client_id_refused_2);
	tcase_add_test(tc, connect_protocol_level_3_refused_1);
	tcase_add_test(tc, connect_foreign_will_topic_closed);
	suite_add_tcase(s, tc);

	tc = hx_tcase("connect_session");
	tcase_add_test(tc, connect_second_connection_drops_first);
	tcase_add_test(tc, connect_second_connection_other_transport_drops_first);
	tcase_add_test(tc, connect_keepalive_silent_client_closed);
	tcase_add_test(tc, connect_keepalive_pinging_client_stays);
	tcase_add_test(tc, connect_sas_expiry_closes_connection);
	tcase_add_test(tc, connect_abnormal_close_recorded);
	tcase_add_test(tc, connect_clean_session_0_resumes_subscriptions);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return hx_run(suite());
}
