/*
 * migrations.c: the store room's schema, as numbered migrations. Migration N brings a database
 * from PRAGMA user_version N-1 to N; store_sqlite.c applies each one in its own transaction and
 * sets user_version. Never edit a migration that has shipped: add the next one.
 * Pure text: no SQLite calls here.
 */
#include <stddef.h>

#include "store/store.h"

/*
 * Each migration is a NULL-terminated list of statements (one string each, so no literal
 * outgrows what C compilers must accept).
 * Conventions, chosen so that the sqlite3 shell is pleasant to use on a live file:
 *  - times are INTEGER microseconds since 1970 UTC in columns named *_us; the *_view views add
 *    readable ISO 8601 text beside them (views cost nothing when unused);
 *  - JSON is TEXT (system and application properties, twin documents, payloads), bodies are BLOB;
 *  - enumerations are the words IoT Hub itself uses ('enabled', 'selfSigned', ...), not numbers;
 *  - module_id is '' (never NULL) for a device's own rows, so (device_id, module_id) is a key.
 * Messages and events do not reference the registry: they are a record of what happened and
 * outlive the deletion of the identity that sent them. The c2d queue does reference it: IoT Hub
 * purges a device's queue when the device is deleted.
 */

/* 1: registry and twins. application_id "SIMH" marks the file as simhub's. */
static const char *const migration_1[] = {
	"PRAGMA application_id = 1397312840;\n",  /* 0x53494D48, "SIMH"; see store_sqlite.c */
	"CREATE TABLE hub_settings (\n"
	"	key   TEXT PRIMARY KEY NOT NULL,\n"
	"	value TEXT NOT NULL\n"
	");\n",
	"CREATE TABLE access_policies (\n"
	"	name          TEXT PRIMARY KEY NOT NULL,\n"
	"	primary_key   TEXT NOT NULL,\n"
	"	secondary_key TEXT NOT NULL,\n"
	/* bit set: 1 registryRead, 2 registryWrite, 4 serviceConnect, 8 deviceConnect */
	"	rights        INTEGER NOT NULL CHECK (rights BETWEEN 0 AND 15)\n"
	");\n",
	"CREATE TABLE devices (\n"
	"	device_id                   TEXT PRIMARY KEY NOT NULL CHECK (device_id <> ''),\n"
	"	generation_id               TEXT NOT NULL,\n"
	"	etag_counter                INTEGER NOT NULL DEFAULT 0,\n"
	"	status                      TEXT NOT NULL DEFAULT 'enabled'\n"
	"	                            CHECK (status IN ('enabled', 'disabled')),\n"
	"	status_reason               TEXT NOT NULL DEFAULT '',\n"
	"	status_updated_us           INTEGER NOT NULL DEFAULT 0,\n"
	"	auth_type                   TEXT NOT NULL DEFAULT 'sas'\n"
	"	                            CHECK (auth_type IN ('sas', 'selfSigned',\n"
	"	                                                 'certificateAuthority', 'none')),\n"
	"	primary_key                 TEXT NOT NULL DEFAULT '',\n"
	"	secondary_key               TEXT NOT NULL DEFAULT '',\n"
	"	primary_thumbprint          TEXT NOT NULL DEFAULT '',\n"
	"	secondary_thumbprint        TEXT NOT NULL DEFAULT '',\n"
	"	connected                   INTEGER NOT NULL DEFAULT 0 CHECK (connected IN (0, 1)),\n"
	"	connection_state_updated_us INTEGER NOT NULL DEFAULT 0,\n"
	"	last_activity_us            INTEGER NOT NULL DEFAULT 0,\n"
	"	c2d_count                   INTEGER NOT NULL DEFAULT 0,\n"
	"	created_us                  INTEGER NOT NULL DEFAULT 0,\n"
	"	iot_edge                    INTEGER NOT NULL DEFAULT 0 CHECK (iot_edge IN (0, 1))\n"
	");\n",
	"CREATE TABLE modules (\n"
	"	device_id                   TEXT NOT NULL\n"
	"	                            REFERENCES devices (device_id) ON DELETE CASCADE,\n"
	"	module_id                   TEXT NOT NULL CHECK (module_id <> ''),\n"
	"	generation_id               TEXT NOT NULL,\n"
	"	etag_counter                INTEGER NOT NULL DEFAULT 0,\n"
	"	status                      TEXT NOT NULL DEFAULT 'enabled'\n"
	"	                            CHECK (status IN ('enabled', 'disabled')),\n"
	"	status_reason               TEXT NOT NULL DEFAULT '',\n"
	"	status_updated_us           INTEGER NOT NULL DEFAULT 0,\n"
	"	auth_type                   TEXT NOT NULL DEFAULT 'sas'\n"
	"	                            CHECK (auth_type IN ('sas', 'selfSigned',\n"
	"	                                                 'certificateAuthority', 'none')),\n"
	"	primary_key                 TEXT NOT NULL DEFAULT '',\n"
	"	secondary_key               TEXT NOT NULL DEFAULT '',\n"
	"	primary_thumbprint          TEXT NOT NULL DEFAULT '',\n"
	"	secondary_thumbprint        TEXT NOT NULL DEFAULT '',\n"
	"	connected                   INTEGER NOT NULL DEFAULT 0 CHECK (connected IN (0, 1)),\n"
	"	connection_state_updated_us INTEGER NOT NULL DEFAULT 0,\n"
	"	last_activity_us            INTEGER NOT NULL DEFAULT 0,\n"
	"	c2d_count                   INTEGER NOT NULL DEFAULT 0,\n"
	"	created_us                  INTEGER NOT NULL DEFAULT 0,\n"
	"	managed_by                  TEXT NOT NULL DEFAULT '',\n"
	"	PRIMARY KEY (device_id, module_id)\n"
	");\n",
	/*
	 * One twin per identity; module_id '' is the device twin. The foreign key removes every twin
	 * of a deleted device (its own and its modules'); the trigger removes a deleted module's twin,
	 * also when the module goes because its device went.
	 */
	"CREATE TABLE twins (\n"
	"	device_id TEXT NOT NULL REFERENCES devices (device_id) ON DELETE CASCADE,\n"
	"	module_id TEXT NOT NULL DEFAULT '',\n"
	"	version   INTEGER NOT NULL,\n"
	"	document  TEXT NOT NULL,\n"  /* JSON; core/twin owns its shape */
	"	PRIMARY KEY (device_id, module_id)\n"
	");\n",
	"CREATE TRIGGER modules_delete_twin AFTER DELETE ON modules BEGIN\n"
	"	DELETE FROM twins WHERE device_id = old.device_id AND module_id = old.module_id;\n"
	"END;\n",
	/* Times of 0 mean "never" and read as NULL. */
	"CREATE VIEW identities_view AS\n"
	"	SELECT device_id, '' AS module_id, status, auth_type, connected,\n"
	"	       strftime('%Y-%m-%dT%H:%M:%fZ', nullif(created_us, 0) / 1e6, 'unixepoch')\n"
	"	           AS created_at,\n"
	"	       strftime('%Y-%m-%dT%H:%M:%fZ', nullif(last_activity_us, 0) / 1e6, 'unixepoch')\n"
	"	           AS last_activity_at\n"
	"	FROM devices\n"
	"	UNION ALL\n"
	"	SELECT device_id, module_id, status, auth_type, connected,\n"
	"	       strftime('%Y-%m-%dT%H:%M:%fZ', nullif(created_us, 0) / 1e6, 'unixepoch'),\n"
	"	       strftime('%Y-%m-%dT%H:%M:%fZ', nullif(last_activity_us, 0) / 1e6, 'unixepoch')\n"
	"	FROM modules;\n",
	NULL,
};
/* 2: messages and events, both directions, and the operations journal. */
static const char *const migration_2[] = {
	"CREATE TABLE d2c_messages (\n"
	"	seq               INTEGER PRIMARY KEY,\n"  /* arrival order */
	"	device_id         TEXT NOT NULL,\n"
	"	module_id         TEXT NOT NULL DEFAULT '',\n"
	"	enqueued_us       INTEGER NOT NULL,\n"
	"	message_id        TEXT,\n"
	"	content_type      TEXT,\n"
	"	content_encoding  TEXT,\n"
	"	interface_id      TEXT,\n"
	"	system_properties TEXT NOT NULL DEFAULT '{}',\n"  /* JSON object */
	"	app_properties    TEXT NOT NULL DEFAULT '{}',\n"  /* JSON object */
	"	body              BLOB NOT NULL\n"
	");\n",
	"CREATE INDEX d2c_messages_by_device_time\n"
	"	ON d2c_messages (device_id, module_id, enqueued_us);\n",
	"CREATE VIEW d2c_messages_view AS\n"
	"	SELECT seq, device_id, module_id,\n"
	"	       strftime('%Y-%m-%dT%H:%M:%fZ', enqueued_us / 1e6, 'unixepoch') AS enqueued_at,\n"
	"	       message_id, content_type, content_encoding, interface_id,\n"
	"	       system_properties, app_properties, length(body) AS body_bytes,\n"
	"	       CAST(body AS TEXT) AS body_text\n"
	"	FROM d2c_messages;\n",
	/*
	 * Cloud-to-device queue (iothub-protocol.md §3.3): enqueued -> invisible (locked, lock_token
	 * set, lock_until_us) -> completed | deadlettered, or back to enqueued. outcome is the
	 * feedback status once final (Success, Expired, DeliveryCountExceeded, Rejected, Purged).
	 */
	"CREATE TABLE c2d_messages (\n"
	"	seq            INTEGER PRIMARY KEY,\n"
	"	device_id      TEXT NOT NULL REFERENCES devices (device_id) ON DELETE CASCADE,\n"
	"	message_id     TEXT,\n"
	"	properties     TEXT NOT NULL DEFAULT '{}',\n"  /* JSON: system and application */
	"	body           BLOB NOT NULL,\n"
	"	ack            TEXT NOT NULL DEFAULT 'none'\n"
	"	               CHECK (ack IN ('none', 'positive', 'negative', 'full')),\n"
	"	state          TEXT NOT NULL DEFAULT 'enqueued'\n"
	"	               CHECK (state IN ('enqueued', 'invisible', 'completed', 'deadlettered')),\n"
	"	outcome        TEXT,\n"
	"	lock_token     TEXT,\n"
	"	lock_until_us  INTEGER,\n"
	"	delivery_count INTEGER NOT NULL DEFAULT 0,\n"
	"	enqueued_us    INTEGER NOT NULL,\n"
	"	expiry_us      INTEGER NOT NULL DEFAULT 0,\n"  /* 0 = never expires */
	"	finished_us    INTEGER\n"
	");\n",
	"CREATE INDEX c2d_messages_by_device_state\n"
	"	ON c2d_messages (device_id, state, seq);\n",
	"CREATE TABLE method_calls (\n"
	"	id           INTEGER PRIMARY KEY,\n"
	"	request_id   TEXT,\n"  /* the $rid used on the wire */
	"	device_id    TEXT NOT NULL,\n"
	"	module_id    TEXT NOT NULL DEFAULT '',\n"
	"	method_name  TEXT NOT NULL,\n"
	"	payload      TEXT,\n"  /* JSON request payload */
	"	timeout_us   INTEGER NOT NULL DEFAULT 0,\n"
	"	state        TEXT NOT NULL DEFAULT 'pending'\n"
	"	             CHECK (state IN ('pending', 'completed', 'timeout', 'offline', 'failed')),\n"
	"	status       INTEGER,\n"  /* the device's status code, NULL while pending */
	"	result       TEXT,\n"  /* JSON response payload */
	"	invoked_us   INTEGER NOT NULL,\n"
	"	completed_us INTEGER\n"
	");\n",
	"CREATE INDEX method_calls_by_device_time\n"
	"	ON method_calls (device_id, module_id, invoked_us);\n",
	/* Security messages (security-agent.md §3): one row per envelope, one per event in it. */
	"CREATE TABLE security_messages (\n"
	"	id                     INTEGER PRIMARY KEY,\n"
	"	d2c_seq                INTEGER REFERENCES d2c_messages (seq) ON DELETE SET NULL,\n"
	"	device_id              TEXT NOT NULL,\n"
	"	module_id              TEXT NOT NULL DEFAULT '',\n"
	"	received_us            INTEGER NOT NULL,\n"
	"	agent_id               TEXT,\n"
	"	agent_version          TEXT,\n"
	"	message_schema_version TEXT,\n"
	"	valid                  INTEGER NOT NULL DEFAULT 1 CHECK (valid IN (0, 1)),\n"
	"	error                  TEXT\n"  /* why it was refused, when valid = 0 */
	");\n",
	"CREATE INDEX security_messages_by_device_time\n"
	"	ON security_messages (device_id, received_us);\n",
	"CREATE TABLE security_events (\n"
	"	id                     INTEGER PRIMARY KEY,\n"
	"	message_id             INTEGER NOT NULL\n"
	"	                       REFERENCES security_messages (id) ON DELETE CASCADE,\n"
	"	device_id              TEXT NOT NULL,\n"
	"	module_id              TEXT NOT NULL DEFAULT '',\n"
	"	received_us            INTEGER NOT NULL,\n"
	"	event_id               TEXT,\n"  /* the event's Id (GUID) */
	"	event_type             TEXT,\n"  /* Security | Operational | Diagnostic */
	"	category               TEXT,\n"  /* Periodic | Triggered | Aggregated */
	"	name                   TEXT NOT NULL,\n"
	"	is_empty               INTEGER NOT NULL DEFAULT 0 CHECK (is_empty IN (0, 1)),\n"
	"	payload_schema_version TEXT,\n"
	"	timestamp_utc_us       INTEGER,\n"
	"	timestamp_local        TEXT,\n"  /* as the agent wrote it, offset included */
	"	payload                TEXT NOT NULL DEFAULT '[]'\n"  /* JSON array */
	");\n",
	"CREATE INDEX security_events_by_device_name_time\n"
	"	ON security_events (device_id, name, received_us);\n",
	"CREATE INDEX security_events_by_message ON security_events (message_id);\n",
	"CREATE TABLE connection_events (\n"
	"	id        INTEGER PRIMARY KEY,\n"
	"	device_id TEXT NOT NULL,\n"
	"	module_id TEXT NOT NULL DEFAULT '',\n"
	"	at_us     INTEGER NOT NULL,\n"
	"	event     TEXT NOT NULL,\n"  /* connected, disconnected, auth_failed, ... */
	"	reason    TEXT\n"
	");\n",
	"CREATE INDEX connection_events_by_device_time\n"
	"	ON connection_events (device_id, module_id, at_us);\n",
	"CREATE VIEW connection_events_view AS\n"
	"	SELECT id, device_id, module_id,\n"
	"	       strftime('%Y-%m-%dT%H:%M:%fZ', at_us / 1e6, 'unixepoch') AS at, event, reason\n"
	"	FROM connection_events;\n",
	/* Operations journal for --record: every device-originated operation, in order. */
	"CREATE TABLE journal (\n"
	"	seq       INTEGER PRIMARY KEY,\n"
	"	at_us     INTEGER NOT NULL,\n"
	"	device_id TEXT NOT NULL,\n"
	"	module_id TEXT NOT NULL DEFAULT '',\n"
	"	operation TEXT NOT NULL,\n"  /* connect, telemetry, twin_get, twin_reported, ... */
	"	detail    TEXT NOT NULL DEFAULT '{}',\n"  /* JSON: topic, properties, request id */
	"	body      BLOB\n"
	");\n",
	"CREATE INDEX journal_by_time ON journal (at_us);\n",
	NULL,
};

/*
 * Version 3: X.509 certificate authorities registered with the hub. A device whose
 * authentication type is certificateAuthority connects with a certificate chained to one of
 * them (iothub-protocol.md §1.4). The PEM text is kept as given.
 */
static const char *const migration_3[] = {
	"CREATE TABLE x509_cas (\n"
	"	name        TEXT PRIMARY KEY,\n"
	"	pem         TEXT NOT NULL,\n"
	"	added_us    INTEGER NOT NULL\n"
	");\n",
	NULL,
};

/*
 * Version 4: method-call records (GET /simhub/v1/methods). A call that waits for its device
 * keeps its connectTimeout too, and a call the hub answered itself (404103, 504101, ...) keeps
 * that IoT Hub error code; status stays the device's own status code.
 */
static const char *const migration_4[] = {
	"ALTER TABLE method_calls ADD COLUMN connect_timeout_us INTEGER NOT NULL DEFAULT 0;\n",
	"ALTER TABLE method_calls ADD COLUMN error_code INTEGER;\n",
	"CREATE INDEX method_calls_by_time ON method_calls (invoked_us);\n",
	NULL,
};

/*
 * Version 5: C2D feedback records (iothub-protocol.md §6). When a message that asked for an
 * acknowledgement (ack positive, negative or full) reaches an outcome, the hub keeps one record
 * with IoT Hub's feedback fields; GET /simhub/v1/c2d/feedback reads them. enqueued_us is when
 * the outcome happened (IoT Hub's enqueuedTimeUtc of a feedback record).
 */
static const char *const migration_5[] = {
	"CREATE TABLE c2d_feedback (\n"
	"	id                   INTEGER PRIMARY KEY,\n"
	"	device_id            TEXT NOT NULL,\n"
	"	original_message_id  TEXT NOT NULL DEFAULT '',\n"
	"	device_generation_id TEXT NOT NULL DEFAULT '',\n"
	"	enqueued_us          INTEGER NOT NULL,\n"
	"	status_code          TEXT NOT NULL CHECK (status_code IN ('Success', 'Expired',\n"
	"	                     'DeliveryCountExceeded', 'Rejected', 'Purged')),\n"
	"	description          TEXT NOT NULL DEFAULT '',\n"
	"	c2d_seq              INTEGER NOT NULL DEFAULT 0\n"
	");\n",
	"CREATE INDEX c2d_feedback_by_time ON c2d_feedback (enqueued_us);\n",
	NULL,
};

/*
 * Version 6: security ingestion (security-agent.md §3-§5, docs/security.md). Each message keeps
 * its properties, raw body, the validation mode and verdict with the reasons (JSON array); each
 * event its agent id, verdict and reasons. security_alerts holds the alerts of the built-in
 * rules; dedupe_key (rule, device, module, first evidence) makes a rule fire once per evidence.
 */
static const char *const migration_6[] = {
	"ALTER TABLE security_messages ADD COLUMN properties TEXT NOT NULL DEFAULT '{}';\n",
	"ALTER TABLE security_messages ADD COLUMN body BLOB;\n",
	"ALTER TABLE security_messages ADD COLUMN mode TEXT NOT NULL DEFAULT 'service';\n",
	"ALTER TABLE security_messages ADD COLUMN verdict TEXT NOT NULL DEFAULT 'valid'\n"
	"	CHECK (verdict IN ('valid', 'tolerated', 'invalid'));\n",
	"ALTER TABLE security_messages ADD COLUMN reasons TEXT NOT NULL DEFAULT '[]';\n",
	"ALTER TABLE security_messages ADD COLUMN n_events INTEGER NOT NULL DEFAULT 0;\n",
	"ALTER TABLE security_events ADD COLUMN agent_id TEXT;\n",
	"ALTER TABLE security_events ADD COLUMN verdict TEXT NOT NULL DEFAULT 'valid'\n"
	"	CHECK (verdict IN ('valid', 'tolerated', 'invalid'));\n",
	"ALTER TABLE security_events ADD COLUMN reasons TEXT NOT NULL DEFAULT '[]';\n",
	"CREATE INDEX security_messages_by_time ON security_messages (received_us);\n",
	"CREATE INDEX security_events_by_name_time ON security_events (name, received_us);\n",
	"CREATE INDEX security_events_by_type_time ON security_events (event_type, received_us);\n",
	"CREATE INDEX security_events_by_time ON security_events (received_us);\n",
	"CREATE INDEX security_events_by_device_utc\n"
	"	ON security_events (device_id, name, timestamp_utc_us);\n",
	"CREATE TABLE security_alerts (\n"
	"	id          INTEGER PRIMARY KEY,\n"
	"	created_us  INTEGER NOT NULL,\n"
	"	time_us     INTEGER NOT NULL,\n"
	"	rule        TEXT NOT NULL,\n"
	"	severity    TEXT NOT NULL CHECK (severity IN ('High', 'Medium', 'Low')),\n"
	"	device_id   TEXT NOT NULL,\n"
	"	module_id   TEXT NOT NULL DEFAULT '',\n"
	"	evidence    TEXT NOT NULL DEFAULT '[]',\n"  /* JSON array of event ids */
	"	description TEXT NOT NULL DEFAULT '',\n"
	"	dedupe_key  TEXT NOT NULL UNIQUE\n"
	");\n",
	"CREATE INDEX security_alerts_by_device_time ON security_alerts (device_id, created_us);\n",
	"CREATE VIEW security_events_view AS\n"
	"	SELECT id, message_id, device_id, module_id,\n"
	"	       strftime('%Y-%m-%dT%H:%M:%fZ', received_us / 1e6, 'unixepoch') AS received_at,\n"
	"	       agent_id, event_id, name, event_type, category, timestamp_local,\n"
	"	       strftime('%Y-%m-%dT%H:%M:%fZ', timestamp_utc_us / 1e6, 'unixepoch') AS utc_at,\n"
	"	       verdict, reasons, payload\n"
	"	FROM security_events;\n",
	NULL,
};

/*
 * Version 7: security ingestion at the speed of telemetry (bench/README.md, secmsg_bench).
 * - security_messages and security_events are rebuilt (rows kept, ids kept): their verdict
 *   CHECK becomes three equalities, because "verdict IN ('valid', 'tolerated', 'invalid')"
 *   builds a temporary b-tree for every inserted row.
 * - A security message's raw body and properties live once, in its d2c_messages row: new
 *   rows leave security_messages.body NULL and the store reads both through d2c_seq (rows
 *   written before version 7 keep their own copy and are read as they are).
 * - security_events keeps the indexes the API's questions use (device + time, name + time,
 *   type + time) and no more. Without an index on message_id, deleting a security message
 *   scans the events for its children: store_reset therefore empties security_events first,
 *   and nothing else deletes security messages.
 * - login_failures counts a Login event's payload items with Result "Fail" (filled in for old
 *   rows): the brute-force look-back reads only those, through a partial index, instead of
 *   every stored Login.
 * - security_agents holds each sending (device, module)'s last message time and count, so the
 *   agent-silent sweep and summaries no longer group the whole security_messages table.
 * Foreign keys are on while this runs: events are dropped before their messages, and the
 * renames carry the new events' reference over to the new messages table.
 */
static const char *const migration_7[] = {
	"CREATE TABLE security_messages_v7 (\n"
	"	id                     INTEGER PRIMARY KEY,\n"
	"	d2c_seq                INTEGER REFERENCES d2c_messages (seq) ON DELETE SET NULL,\n"
	"	device_id              TEXT NOT NULL,\n"
	"	module_id              TEXT NOT NULL DEFAULT '',\n"
	"	received_us            INTEGER NOT NULL,\n"
	"	agent_id               TEXT,\n"
	"	agent_version          TEXT,\n"
	"	message_schema_version TEXT,\n"
	"	valid                  INTEGER NOT NULL DEFAULT 1 CHECK (valid IN (0, 1)),\n"
	"	error                  TEXT,\n"
	"	properties             TEXT NOT NULL DEFAULT '{}',\n"  /* when body is not NULL */
	"	body                   BLOB,\n"  /* NULL: the d2c row's body (and properties) */
	"	mode                   TEXT NOT NULL DEFAULT 'service',\n"
	"	verdict                TEXT NOT NULL DEFAULT 'valid'\n"
	"	                       CHECK (verdict = 'valid' OR verdict = 'tolerated'\n"
	"	                              OR verdict = 'invalid'),\n"
	"	reasons                TEXT NOT NULL DEFAULT '[]',\n"
	"	n_events               INTEGER NOT NULL DEFAULT 0\n"
	");\n",
	"INSERT INTO security_messages_v7 (id, d2c_seq, device_id, module_id, received_us,\n"
	"	agent_id, agent_version, message_schema_version, valid, error, properties, body,\n"
	"	mode, verdict, reasons, n_events)\n"
	"	SELECT id, d2c_seq, device_id, module_id, received_us, agent_id, agent_version,\n"
	"	       message_schema_version, valid, error, properties, body, mode, verdict,\n"
	"	       reasons, n_events FROM security_messages;\n",
	"CREATE TABLE security_events_v7 (\n"
	"	id                     INTEGER PRIMARY KEY,\n"
	"	message_id             INTEGER NOT NULL\n"
	"	                       REFERENCES security_messages_v7 (id) ON DELETE CASCADE,\n"
	"	device_id              TEXT NOT NULL,\n"
	"	module_id              TEXT NOT NULL DEFAULT '',\n"
	"	received_us            INTEGER NOT NULL,\n"
	"	event_id               TEXT,\n"
	"	event_type             TEXT,\n"
	"	category               TEXT,\n"
	"	name                   TEXT NOT NULL,\n"
	"	is_empty               INTEGER NOT NULL DEFAULT 0 CHECK (is_empty IN (0, 1)),\n"
	"	payload_schema_version TEXT,\n"
	"	timestamp_utc_us       INTEGER,\n"
	"	timestamp_local        TEXT,\n"
	"	payload                TEXT NOT NULL DEFAULT '[]',\n"
	"	agent_id               TEXT,\n"
	"	verdict                TEXT NOT NULL DEFAULT 'valid'\n"
	"	                       CHECK (verdict = 'valid' OR verdict = 'tolerated'\n"
	"	                              OR verdict = 'invalid'),\n"
	"	reasons                TEXT NOT NULL DEFAULT '[]',\n"
	"	login_failures         INTEGER NOT NULL DEFAULT 0\n"
	");\n",
	"INSERT INTO security_events_v7 (id, message_id, device_id, module_id, received_us,\n"
	"	event_id, event_type, category, name, is_empty, payload_schema_version,\n"
	"	timestamp_utc_us, timestamp_local, payload, agent_id, verdict, reasons,\n"
	"	login_failures)\n"
	"	SELECT id, message_id, device_id, module_id, received_us, event_id, event_type,\n"
	"	       category, name, is_empty, payload_schema_version, timestamp_utc_us,\n"
	"	       timestamp_local, payload, agent_id, verdict, reasons,\n"
	"	       CASE WHEN name = 'Login' AND verdict <> 'invalid' AND json_valid(payload)\n"
	"	            AND json_type(payload) = 'array'\n"
	"	       THEN (SELECT count(*) FROM json_each(payload) AS item\n"
	"	             WHERE item.type = 'object'\n"
	"	             AND lower(json_extract(item.value, '$.Result')) = 'fail')\n"
	"	       ELSE 0 END\n"
	"	FROM security_events;\n",
	"DROP VIEW security_events_view;\n",
	"DROP TABLE security_events;\n",
	"DROP TABLE security_messages;\n",
	"ALTER TABLE security_messages_v7 RENAME TO security_messages;\n",
	"ALTER TABLE security_events_v7 RENAME TO security_events;\n",
	"CREATE INDEX security_messages_by_device_time\n"
	"	ON security_messages (device_id, received_us);\n",
	"CREATE INDEX security_messages_by_time ON security_messages (received_us);\n",
	"CREATE INDEX security_events_by_device_time ON security_events (device_id, received_us);\n",
	"CREATE INDEX security_events_by_name_time ON security_events (name, received_us);\n",
	"CREATE INDEX security_events_by_type_time ON security_events (event_type, received_us);\n",
	"CREATE INDEX security_events_login_failures\n"
	"	ON security_events (device_id, timestamp_utc_us) WHERE login_failures > 0;\n",
	"CREATE VIEW security_events_view AS\n"
	"	SELECT id, message_id, device_id, module_id,\n"
	"	       strftime('%Y-%m-%dT%H:%M:%fZ', received_us / 1e6, 'unixepoch') AS received_at,\n"
	"	       agent_id, event_id, name, event_type, category, timestamp_local,\n"
	"	       strftime('%Y-%m-%dT%H:%M:%fZ', timestamp_utc_us / 1e6, 'unixepoch') AS utc_at,\n"
	"	       verdict, reasons, payload\n"
	"	FROM security_events;\n",
	"CREATE TABLE security_agents (\n"
	"	device_id  TEXT NOT NULL,\n"
	"	module_id  TEXT NOT NULL DEFAULT '',\n"
	"	last_us    INTEGER NOT NULL,\n"
	"	messages   INTEGER NOT NULL DEFAULT 0,\n"
	"	PRIMARY KEY (device_id, module_id)\n"
	") WITHOUT ROWID;\n",
	"INSERT INTO security_agents (device_id, module_id, last_us, messages)\n"
	"	SELECT device_id, module_id, max(received_us), count(*) FROM security_messages\n"
	"	GROUP BY device_id, module_id;\n",
	NULL,
};

/* migrations[N] brings user_version N-1 to N. */
static const char *const *const migrations[] = {
	NULL,            /* version 0: the empty file */
	migration_1,
	migration_2,
	migration_3,
	migration_4,
	migration_5,
	migration_6,
	migration_7,
};

int store_schema_version(void)
{
	return (int)(sizeof migrations / sizeof migrations[0]) - 1;
}

const char *const *store_migration_sql(int version)
{
	if (version < 1 || version > store_schema_version())
		return NULL;
	return migrations[version];
}
