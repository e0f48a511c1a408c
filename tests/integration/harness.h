/*
 * harness.h: what every tests/integration/check_*.c shares (prefix hx_): a `simhub serve` child on
 * free loopback ports with a fixed-key fixture, SAS tokens, synchronous libmosquitto clients, raw
 * sockets for exact bytes, reads of the database file. It never sleeps to synchronise (every wait
 * is for a condition, with a deadline); checking helpers fail the running test themselves.
 */
#ifndef SH_HARNESS_H
#define SH_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <check.h>

struct cJSON;

/* --- the fixture: identities and keys every suite may use ------------------------------------- */
#define HX_HOST "simhub-test.azure-devices.net"
#define HX_API "2021-04-12"

#define HX_DEV1 "dev1"        /* enabled; twin desired {interval:5}, reported {fw:"1.0"} */
#define HX_DEV1_KEY "0It83Ij/StW87u4iOh6E2cdQlegt4W9hJevUj2k08eM="
#define HX_DEV1_KEY2 "d/DYiNyaEe1qZLwjT2beM8Mi8BXTWwEfCJmwlciA2d0="
#define HX_DEV2 "dev2"        /* enabled; twin desired {interval:7} */
#define HX_DEV2_KEY "3wdwxNEntkMZQ4qVmGtXd7n8SeS/hEy3LpbYBXqAcDY="
#define HX_DEVOFF "devoff"    /* disabled */
#define HX_DEVOFF_KEY "sxbD4HH3zYsz2vJybrrAWpl7Iq4Qu7IA1wH0fYoKsRI="
#define HX_GW "gw"            /* enabled device with module m1 */
#define HX_GW_KEY "C1xWmwC/i24BdrmpfYki74nlqq8+JbNp8QqTteaiEuY="
#define HX_MOD "m1"           /* module of gw (and of parentoff); twin desired {mode:"fast"} */
#define HX_GW_M1_KEY "MksNAolsXNd4IwkOVmnRo2RtEMEM3myQ3EptMm1+emw="
#define HX_PARENTOFF "parentoff"  /* disabled device whose module m1 is enabled */
#define HX_PARENTOFF_KEY "x1moLn8WaFOJDazA2OAoPgv/Yiq25U6llhAKSQneixI="
#define HX_PARENTOFF_M1_KEY "jihqT1CLRbwcoaNpA39ohIAnU/FguXCvpweXnjLu5QA="
#define HX_X509DEV "x509dev"  /* selfSigned: has no SAS keys */
#define HX_OWNER_KEY "CvSQ+K9M++tbU6Icp58XwpLSFsIwSGOxu9NRyTs6T7A="    /* policy iothubowner */
#define HX_DEVICE_POLICY_KEY "Ip7bijPkkYT72nz1dCmyPBVFfUc7ZuHV2MBWyNQn+7A="  /* policy device */
#define HX_SERVICE_POLICY_KEY "M2BKOovxq+0woCHWdhCZaU4izAKlDFP3zpk4Ewbfg4g=" /* policy service */
#define HX_UNUSED_KEY "fMEQeZVYXY1zQtrNfTDyjuyF6sXoG2B8cLislpk+aO4="   /* nobody's key */

/* Waits are bounded by these (milliseconds); generous, since ASan builds are slow. */
#define HX_WAIT_MS 5000
#define HX_START_MS 20000

/* --- the simhub process ----------------------------------------------------------------------- */
struct hx_hub {
	pid_t pid;            /* 0 when not running */
	char dir[512];        /* this test's temporary folder */
	char db[640], ca[640], host[256], service[512];
	int mqtt, mqtts, https;  /* ports from the ready file */
};

/*
 * Run a suite: make a temporary root folder (removed at the end unless HX_KEEP is set), ignore
 * SIGPIPE, run every test (CK_FORK as configured by the environment, forking by default) and
 * return EXIT_SUCCESS when all passed. Call from main.
 */
int hx_run(Suite *s);
/* A TCase with the harness fixture (hx_setup / hx_teardown) and a 30 s timeout per test. */
TCase *hx_tcase(const char *name);
/*
 * Checked fixture: start simhub for this test (hx_hub_start on hx_hub()). hx_teardown closes
 * every client, socket and buffer the test made through the harness, then stops simhub and
 * fails the test unless it exited 0 on SIGTERM. If the test fails first, an exit handler and
 * PR_SET_PDEATHSIG make sure the simhub child does not outlive the test process.
 */
void hx_setup(void);
void hx_teardown(void);
/* The running test's hub (borrowed). */
struct hx_hub *hx_hub(void);
/*
 * Start `simhub serve` in a fresh folder under the root with the harness fixture, --*-port 0
 * and --ready-file, wait for the ready file (HX_START_MS), and fill *h from it. Fails the test
 * with simhub's stderr when it exits early or never gets ready.
 */
void hx_hub_start(struct hx_hub *h);
/* SIGTERM, wait (10 s) and fail the test unless simhub exited with status 0. */
void hx_hub_stop(struct hx_hub *h);

/* --- time ------------------------------------------------------------------------------------- */
int64_t hx_mono_ms(void);   /* monotonic milliseconds */
int64_t hx_wall_s(void);    /* seconds since 1970 (what SAS tokens use) */

/* --- test-lifetime memory --------------------------------------------------------------------- */
/* Keep `p` (malloc'd) until teardown, then free it. Returns p. */
void *hx_keep(void *p);
/* Formatted text kept until teardown. */
char *hx_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Parse JSON text (len bytes); fails the test when it is not JSON. Kept until teardown. */
struct cJSON *hx_json(const void *text, size_t len);
/* Fail unless JSON texts `got` (len bytes) and `want` are equal as JSON values. */
void hx_json_eq(const void *got, size_t got_len, const char *want, const char *what);
/* Hex dump (kept until teardown), for messages. */
const char *hx_hex(const void *p, size_t n);

/* --- SAS tokens and CONNECT fields ------------------------------------------------------------ */
enum hx_sas_style {
	HX_SAS_NODE,  /* sr %-encoded upper-case hex; sr, sig, se[, skn] (sas_build) */
	HX_SAS_CSDK,  /* sr raw, not encoded; sr, sig, se, then "&skn=" (empty when no policy) */
	HX_SAS_DOCS,  /* sr %-encoded lower-case hex; sig, se, skn, sr (the docs' example order) */
};
#define HX_TOKEN_MAX 1024
/*
 * Write a SAS token for `resource` (unencoded, e.g. HX_HOST "/devices/dev1") signed with
 * `key_b64`, skn `policy` (NULL for none), se `expiry_s`, in `style`, into out[HX_TOKEN_MAX].
 */
void hx_sas(char *out, enum hx_sas_style style, const char *resource, const char *key_b64,
	    const char *policy, int64_t expiry_s);
/* The resource URI of an identity: HX_HOST/devices/{dev}[/modules/{mod}] (kept until teardown). */
const char *hx_resource(const char *dev, const char *mod);
/* A Node-style token for an identity, valid for an hour (kept until teardown). */
const char *hx_token(const char *dev, const char *mod, const char *key);
/* "{host}/{dev}[/{mod}]/?api-version=..." (kept until teardown). */
const char *hx_username(const char *dev, const char *mod);
/* "{dev}" or "{dev}/{mod}" (kept until teardown). */
const char *hx_client_id(const char *dev, const char *mod);

/* --- byte buffers and MQTT packets, written independently of simhub's encoder ----------------- */
struct hx_buf {
	uint8_t *p;
	size_t len, cap;
};
void hx_put(struct hx_buf *b, const void *p, size_t n);
void hx_put_u8(struct hx_buf *b, uint8_t v);
void hx_put_u16(struct hx_buf *b, uint16_t v);
/* A 2-byte length then the bytes (MQTT string or binary). */
void hx_put_str(struct hx_buf *b, const void *s, size_t n);
void hx_buf_free(struct hx_buf *b);

/* Fields of a CONNECT; NULL fields are left out (no flag). */
struct hx_connect {
	const char *client_id;      /* required ("" for an empty id) */
	const char *username;
	const char *password;
	uint16_t keepalive;
	bool clean;
	uint8_t level;              /* 0 means 4 */
	const char *protocol;       /* NULL means "MQTT" */
	const char *will_topic;
	const void *will_payload;
	size_t will_len;
};
/* Append a whole packet to *b. */
void hx_pkt_connect(struct hx_buf *b, const struct hx_connect *c);
/* A PUBLISH with a topic of tlen bytes (may hold any byte); pid only written for qos > 0. */
void hx_pkt_publish(struct hx_buf *b, const void *topic, size_t tlen, const void *payload,
		    size_t len, int qos, bool retain, uint16_t pid);
/* A SUBSCRIBE of n filters with their requested QoS; UNSUBSCRIBE of n filters. */
void hx_pkt_subscribe(struct hx_buf *b, uint16_t pid, size_t n, const char *const filters[],
		      const uint8_t qos[]);
void hx_pkt_unsubscribe(struct hx_buf *b, uint16_t pid, size_t n, const char *const filters[]);

/* One MQTT packet read from a socket (body kept until teardown). */
struct hx_packet {
	uint8_t first;              /* type << 4 | flags */
	const uint8_t *body;
	size_t len;
	/* PUBLISH only, filled by hx_raw_packet: */
	const char *topic;          /* NUL-terminated copy, kept until teardown */
	const uint8_t *payload;
	size_t payload_len;
};

/* --- raw TCP sockets -------------------------------------------------------------------------- */
/* Connect to 127.0.0.1:port (TCP_NODELAY); closed at teardown. Fails the test on error. */
int hx_raw_open(int port);
/* Send all bytes; 0, or -1 with errno (EPIPE/ECONNRESET when the hub closed first). */
int hx_raw_send(int fd, const void *p, size_t n);
/* Send all bytes or fail the test. hx_raw_send_buf also empties *b. */
void hx_raw_send_ok(int fd, const void *p, size_t n);
void hx_raw_send_buf(int fd, struct hx_buf *b);
/* Read exactly n bytes within timeout_ms: n; 0 on EOF (or reset) first; -1 on timeout. */
ssize_t hx_raw_read(int fd, void *buf, size_t n, int timeout_ms);
/* Fail unless the next bytes are exactly want[0..n) within HX_WAIT_MS. */
void hx_raw_expect(int fd, const void *want, size_t n, const char *what);
/* Fail unless the hub closes the connection within timeout_ms without sending a byte first. */
void hx_raw_expect_closed(int fd, int timeout_ms, const char *what);
/* True when nothing arrives and the connection stays open for ms milliseconds. */
bool hx_raw_quiet(int fd, int ms);
/* Read one whole packet within HX_WAIT_MS or fail. */
void hx_raw_packet(int fd, struct hx_packet *out, const char *what);
/* PINGREQ, then fail unless exactly PINGRESP comes back. */
void hx_raw_ping(int fd);
/* Close the socket now (an abnormal close for the hub) and forget it. */
void hx_raw_close(int fd);
/*
 * CONNECT an identity over raw TCP with a valid token from `key`, keep-alive `keepalive`,
 * clean session 0, and fail unless exactly CONNACK 0 comes back. Returns the socket.
 */
int hx_raw_device(const char *dev, const char *mod, const char *key, uint16_t keepalive);
/* SUBSCRIBE one filter at `qos` and fail unless exactly the SUBACK granting min(qos,1) comes back. */
void hx_raw_subscribe(int fd, uint16_t pid, const char *filter, uint8_t qos);

/* --- libmosquitto clients, driven synchronously from the test thread -------------------------- */
struct hx_mq;
/* A received message: topic and payload kept until the next hx_mq_next on that client. */
struct hx_msg {
	const char *topic;
	const uint8_t *payload;
	size_t len;
	int qos;
	bool retain;
};
/* A client with this client id (clean session 0, MQTT 3.1.1), freed at teardown. */
struct hx_mq *hx_mq_new(const char *client_id);
/* Will to set before hx_mq_connect. */
void hx_mq_will(struct hx_mq *c, const char *topic, const void *payload, size_t len);
/*
 * Connect to the hub over TCP (tls false) or TLS (tls true: the hub's CA is trusted and the
 * server name "localhost" verified) with username and password (NULL: none), then wait for
 * the CONNACK. Returns its code (0..5), or -1 when the connection ended or timed out first.
 */
int hx_mq_connect(struct hx_mq *c, const char *username, const char *password, bool tls);
/* hx_mq_new + hx_mq_connect with a valid token for the identity; fails unless CONNACK 0. */
struct hx_mq *hx_mq_device(const char *dev, const char *mod, const char *key, bool tls);
/* SUBSCRIBE one filter; the granted QoS from the SUBACK, or -1 (connection lost or timeout). */
int hx_mq_subscribe(struct hx_mq *c, const char *filter, int qos);
/* UNSUBSCRIBE one filter; true when the UNSUBACK came. */
bool hx_mq_unsubscribe(struct hx_mq *c, const char *filter);
/*
 * PUBLISH and wait until libmosquitto reports it done (qos 1: the PUBACK arrived; qos 0: it was
 * written). Returns true, or false when the connection was lost or the wait timed out.
 */
bool hx_mq_publish(struct hx_mq *c, const char *topic, const void *payload, size_t len, int qos,
		   bool retain);
/* The next message within timeout_ms, or NULL. */
const struct hx_msg *hx_mq_next(struct hx_mq *c, int timeout_ms);
/* Fail unless the next message comes within HX_WAIT_MS on exactly `topic`. */
const struct hx_msg *hx_mq_expect(struct hx_mq *c, const char *topic);
/* True when the hub closes the connection within timeout_ms. */
bool hx_mq_wait_closed(struct hx_mq *c, int timeout_ms);
/* Send DISCONNECT and wait until the connection is closed. */
void hx_mq_disconnect(struct hx_mq *c);
bool hx_mq_connected(const struct hx_mq *c);

/*
 * The "healthy" client of the fault tests: dev2 over TCP, connected on the first call of a test
 * and the same client on later calls. hx_healthy_check publishes one QoS 1
 * message and fails unless the PUBACK comes and the row is visible right after it.
 */
struct hx_mq *hx_healthy(void);
void hx_healthy_check(struct hx_mq *c, const char *after);

/* --- the service REST API on the https port --------------------------------------------------- */
/* A whole HTTP response; texts kept until teardown. */
struct hx_http {
	int status;
	const char *headers;        /* the header block, NUL-terminated */
	const char *body;           /* NUL-terminated */
	size_t len;
};
struct hx_https;
/* "SharedAccessSignature ..." for the iothubowner policy, sr = the hub's host (kept). */
const char *hx_service_token(void);
/*
 * Open a TLS connection to the https port (the hub's CA trusted, name "localhost" verified) and
 * send one HTTP/1.1 request: `path` gets "?api-version=" HX_API appended, `auth` is the
 * Authorization header (NULL: none), PATCH and PUT carry If-Match "*", a body is sent as JSON.
 * Does not wait for the answer (a method call answers only after the device does).
 */
struct hx_https *hx_https_send(const char *method, const char *path, const char *body,
			       const char *auth);
/* hx_https_send with extra header lines ("Name: value\r\n" each; a Content-Type replaces the JSON one). */
struct hx_https *hx_https_send_with(const char *method, const char *path, const char *body,
				    const char *auth, const char *headers);
/* Read the whole response within timeout_ms, or fail the test. */
void hx_https_wait(struct hx_https *r, struct hx_http *out, int timeout_ms);
/* hx_https_send with hx_service_token(), then hx_https_wait(HX_WAIT_MS). */
void hx_https(const char *method, const char *path, const char *body, struct hx_http *out);
/* A response header's value (name without ':', any case), kept; NULL when absent. */
const char *hx_http_header(const struct hx_http *r, const char *name);

/* --- the database file (WAL: read while simhub writes) ---------------------------------------- */
/* First column of the first row of an SQL query (sqlite3_mprintf format: %q, %Q), or -1 without rows. */
int64_t hx_db_int(const char *fmt, ...);
/* Text of the first column of the first row (kept until teardown), or NULL (no row, NULL value). */
const char *hx_db_text(const char *fmt, ...);
/* Poll the query until it yields `want` (true) or HX_WAIT_MS pass (false). */
bool hx_db_wait_int(int64_t want, const char *fmt, ...);

/* A stored device-to-cloud message. */
struct hx_d2c {
	int64_t seq;
	const char *device_id, *module_id, *message_id, *content_type, *content_encoding;
	struct cJSON *sys, *app;    /* parsed system_properties, app_properties (kept) */
	const uint8_t *body;        /* kept until teardown */
	size_t body_len;
};
/* The newest d2c row of an identity (mod "" or NULL for the device); false when there is none. */
bool hx_d2c_last(const char *dev, const char *mod, struct hx_d2c *out);
/* Number of d2c rows of an identity. */
int64_t hx_d2c_count(const char *dev, const char *mod);
/* A string member of a JSON object, or NULL. */
const char *hx_jstr(const struct cJSON *obj, const char *key);

#endif
