/*
 * journal.h: the recording format of `simhub serve --record` and `fleet replay` (documented in
 * docs/recordings.md): JSON lines, a versioned header line, then one operation per line.
 * Parse a line into a struct, write a struct as a line, and rename identities for clones.
 * Pure: no I/O, no clock (times are fields), no globals; cJSON trees are the only allocations.
 */
#ifndef SH_JOURNAL_H
#define SH_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/result.h"

struct cJSON;

#define JOURNAL_VERSION 1              /* the version this code reads and writes */
#define JOURNAL_LINE_MAX (1024 * 1024) /* longest line accepted (a 256 KiB body in base64 fits) */
#define JOURNAL_TEXT_MAX 1024          /* longest short string field (rid, reason, message id...) */
#define JOURNAL_PATH_MAX 96            /* room for an error's JSON path */
#define JOURNAL_REASON_MAX 160         /* room for an error's reason */

/* Operations. Device-originated first, then what the hub sent (JOURNAL_OP_TWIN_DESIRED on). */
enum journal_op {
	JOURNAL_OP_CONNECT = 0,       /* "connect" */
	JOURNAL_OP_DISCONNECT,        /* "disconnect" */
	JOURNAL_OP_TELEMETRY,         /* "telemetry" */
	JOURNAL_OP_TWIN_GET,          /* "twin.get" (and the hub's answer) */
	JOURNAL_OP_TWIN_REPORTED,     /* "twin.reported" (and the hub's answer) */
	JOURNAL_OP_METHOD_RESPONSE,   /* "method.response" */
	JOURNAL_OP_C2D_SETTLE,        /* "c2d.settle" */
	JOURNAL_OP_TWIN_DESIRED,      /* "twin.desired": hub -> device */
	JOURNAL_OP_METHOD_REQUEST,    /* "method.request": hub -> device */
	JOURNAL_OP_C2D,               /* "c2d": hub -> device */
	JOURNAL_OP_COUNT
};

enum journal_body_encoding {
	JOURNAL_BODY_TEXT = 0,        /* "text": the body is the UTF-8 string itself (the default) */
	JOURNAL_BODY_BASE64 = 1,      /* "base64": the body is standard base64 of the bytes */
};

/* The first line: {"simhubJournal":1,"hub":"...","started":"ISO","source":"simhub x.y"}. */
struct journal_header {
	int version;                  /* simhubJournal, >= 1 */
	char *hub;                    /* hub host name the session ran against; owned */
	int64_t started_us;           /* microseconds since 1970 UTC */
	char *source;                 /* who wrote it, e.g. "simhub 0.1.0"; owned, may be NULL */
};

/*
 * One operation. Every pointer is owned by the entry and released by journal_entry_free;
 * fields an op does not use stay zero / NULL. Which fields each op uses:
 *   connect          transport ("mqtt", "mqtt-ws", "amqp", "https"), clean_session, keepalive_s
 *   disconnect       reason (may be NULL)
 *   telemetry        sys_props, app_props (objects of strings, may be NULL), body, body_len,
 *                    body_encoding
 *   twin.get         rid, status (the hub's answer, 0 = not recorded), version (-1 = none)
 *   twin.reported    rid (may be NULL: no $rid), patch (an object), status, version
 *   method.response  rid, status (the device's answer), payload (any JSON value, may be NULL)
 *   c2d.settle       message_id, outcome ("complete", "abandon", "reject")
 *   twin.desired     patch (an object, without $version), version
 *   method.request   rid, name, payload
 *   c2d              message_id (may be NULL), sys_props, app_props, body, body_len,
 *                    body_encoding
 */
struct journal_entry {
	enum journal_op op;
	int64_t t_us;                 /* "t": microseconds since the header's start, >= 0 */
	int64_t at_us;                /* "at": absolute time, microseconds since 1970; 0 = absent */
	char *device;                 /* "device": always set */
	char *module;                 /* "module": NULL for a device's own operation */
	char *transport;
	bool clean_session;
	int keepalive_s;
	char *reason;
	struct cJSON *sys_props;      /* "systemProperties" */
	struct cJSON *app_props;      /* "properties" */
	uint8_t *body;                /* NUL-terminated for convenience; body_len excludes it */
	size_t body_len;
	enum journal_body_encoding body_encoding;
	char *rid;                    /* "rid" */
	int status;                   /* "status" */
	int64_t version;              /* "version"; -1 when absent */
	struct cJSON *patch;          /* "patch" */
	char *name;                   /* "name" (method) */
	struct cJSON *payload;        /* "payload" */
	char *message_id;             /* "messageId" */
	char *outcome;                /* "outcome" */
};

/*
 * Where and why a line was refused: "FILE:LINE: PATH: REASON" once formatted. `path` is a JSON
 * path into the line ("$" for the line itself, "$.patch", "$.systemProperties.message-id").
 */
struct journal_error {
	long line;                    /* 1-based; 0 when the caller did not say */
	char path[JOURNAL_PATH_MAX];
	char reason[JOURNAL_REASON_MAX];
};

/* The op's wire name ("twin.reported"); "unknown" outside the enum. Static text. */
const char *journal_op_name(enum journal_op op);

/* True for the ops a device or module originates (connect .. c2d.settle). */
bool journal_op_from_device(enum journal_op op);

/*
 * Parse the header line: `len` bytes of `line` (borrowed; a trailing "\n" or "\r\n" is
 * allowed). Unknown fields are ignored. On failure *err (optional) says where and why, with
 * err->line set to `lineno`. *out is zeroed first; free it with journal_header_free.
 * Returns SH_OK; SH_E_MALFORMED (empty, not JSON, not an object, a field of the wrong type, a
 * bad "started" time, no "simhubJournal"); SH_E_VERSION when simhubJournal is newer than
 * JOURNAL_VERSION (the reason names both versions); SH_E_TOOLARGE for a line over
 * JOURNAL_LINE_MAX; SH_E_NOMEM.
 */
sh_rc journal_header_parse(const char *line, size_t len, long lineno, struct journal_header *out,
			   struct journal_error *err);

/* Release what a header owns and zero it (NULL is fine). */
void journal_header_free(struct journal_header *h);

/*
 * Write the header as one line without its "\n" into *out_line (caller frees with free()).
 * Returns SH_OK; SH_E_INVALID (version < 1, hub NULL or empty, started_us not a representable
 * ISO time); SH_E_NOMEM.
 */
sh_rc journal_header_write(const struct journal_header *h, char **out_line);

/*
 * Parse one operation line (borrowed, as for the header). Unknown fields are ignored, so a
 * newer writer may add optional ones. *out is zeroed first, then owns what it holds (free it
 * with journal_entry_free, also after a failure). *err (optional) as for the header.
 * Returns SH_OK; SH_E_MALFORMED (not a JSON object, missing or mistyped field, negative "t",
 * bad identity, bad base64 body...); SH_E_NOTFOUND for a well-formed line whose "op" this
 * reader does not know (written by a newer simhub: the reason names the op and this reader's
 * version; a replayer may skip it); SH_E_TOOLARGE (line over JOURNAL_LINE_MAX, or a string
 * field over JOURNAL_TEXT_MAX); SH_E_NOMEM.
 */
sh_rc journal_entry_parse(const char *line, size_t len, long lineno, struct journal_entry *out,
			  struct journal_error *err);

/* Release what an entry owns and zero it (NULL is fine). */
void journal_entry_free(struct journal_entry *e);

/*
 * Write an operation as one line without its "\n" into *out_line (caller frees with free()).
 * The body is written as text when body_encoding is JOURNAL_BODY_TEXT and the bytes are UTF-8
 * without NUL, else as base64 with "bodyEncoding":"base64". "at" is written when at_us != 0.
 * Returns SH_OK; SH_E_INVALID (op out of range, device NULL or not a valid id, negative t,
 * a field the op requires missing); SH_E_NOMEM.
 */
sh_rc journal_entry_write(const struct journal_entry *e, char **out_line);

/*
 * Clone renaming: expand `pattern` (borrowed) for identity `id` and clone number `n`:
 * "{id}" becomes id, "{n}" becomes n in decimal, "{n:W}" (W 1..9) n zero-padded to W digits;
 * every other byte is copied. Writes a NUL-terminated id into `out` (caller's, `cap` bytes);
 * *out_len (optional) gets its length, also on SH_E_NOSPACE.
 * Returns SH_OK; SH_E_NOSPACE; SH_E_INVALID when the pattern has an unknown or unclosed "{",
 * lacks "{n" (clones would collide), or the result is not a valid device id (identity.h).
 */
sh_rc journal_clone_id(const char *pattern, const char *id, unsigned n, char *out, size_t cap,
		       size_t *out_len);

/* "FILE:LINE: PATH: REASON" into `out` (caller's, `cap` bytes, always NUL-terminated when
 * cap > 0); `file` may be NULL. Returns the length snprintf would have written. */
int journal_error_format(const struct journal_error *e, const char *file, char *out, size_t cap);

#endif
