/*
 * sa_event.c: room sa_event (see sa_event.h): events, queues, the send schedule and message
 * batching. Pure: it never reads the clock or a file and never sends; sizes are exact because
 * every event is serialized once, compactly, when it is made, and a message is those texts
 * joined inside the envelope.
 */
#include "sa_event.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/isotime.h"

void sa_rng_seed(struct sa_rng *r, uint64_t seed)
{
	/* splitmix64 of the seed, so 0 and nearby seeds give unrelated, non-zero states */
	uint64_t z = seed + 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	r->s = z ? z : 0x2545f4914f6cdd1dull;
}

uint64_t sa_rng_next(struct sa_rng *r)
{
	uint64_t x = r->s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	r->s = x;
	return x * 0x2545f4914f6cdd1dull;
}

void sa_guid(struct sa_rng *r, char out[37])
{
	uint64_t a = sa_rng_next(r), b = sa_rng_next(r);
	uint8_t u[16];
	for (int i = 0; i < 8; i++) {
		u[i] = (uint8_t)(a >> (8 * i));
		u[8 + i] = (uint8_t)(b >> (8 * i));
	}
	u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
		 u[13], u[14], u[15]);
}

sh_rc sa_time_utc(int64_t us, char out[32])
{
	char b[ISOTIME_BUF];
	if (us == 0)
		us = 1;   /* isotime's never-set value; one microsecond after 1970 is a real time */
	if (isotime_format(us, b) != SH_OK) {
		out[0] = '\0';
		return SH_E_INVALID;
	}
	snprintf(out, 32, "%.19sZ", b);
	return SH_OK;
}

sh_rc sa_time_local(int64_t us, int32_t tz_off_s, char out[32])
{
	if (tz_off_s <= -86400 || tz_off_s >= 86400) {
		out[0] = '\0';
		return SH_E_INVALID;
	}
	char b[ISOTIME_BUF];
	int64_t local = us + (int64_t)tz_off_s * 1000000;
	if (local == 0)
		local = 1;
	if (isotime_format(local, b) != SH_OK) {
		out[0] = '\0';
		return SH_E_INVALID;
	}
	int32_t a = tz_off_s < 0 ? -tz_off_s : tz_off_s;
	snprintf(out, 32, "%.19s%c%02d:%02d", b, tz_off_s < 0 ? '-' : '+', (int)(a / 3600),
		 (int)((a / 60) % 60));
	return SH_OK;
}

void sa_event_free_list(struct sa_event *list)
{
	while (list) {
		struct sa_event *n = list->next;
		free(list);
		list = n;
	}
}

size_t sa_envelope_overhead(const struct sa_envelope *env)
{
	/* {"AgentVersion":"v","AgentId":"id","MessageSchemaVersion":"1.0","Events":[ ... ]} */
	return strlen("{\"AgentVersion\":\"\",\"AgentId\":\"\",\"MessageSchemaVersion\":\"1.0\",\"Events\":[]}") +
	       strlen(env->agent_version) + strlen(env->agent_id);
}

static int write_envelope_head(const struct sa_envelope *env, char *buf, size_t cap)
{
	return snprintf(buf, cap, "{\"AgentVersion\":\"%s\",\"AgentId\":\"%s\",\"MessageSchemaVersion\":\"1.0\",\"Events\":[",
			env->agent_version, env->agent_id);
}

/*
 * The event object with an empty Payload, compact, Payload last so that its text ends in
 * "[]}" and items can be spliced in before "]}". NULL on allocation failure.
 */
static char *event_head(enum sa_kind kind, bool is_empty, const char *id, const char *local,
			const char *utc)
{
	cJSON *e = cJSON_CreateObject();
	if (!e)
		return NULL;
	bool ok = cJSON_AddStringToObject(e, "EventType", sa_kind_event_type(kind)) &&
		  cJSON_AddStringToObject(e, "Category", sa_kind_periodic(kind) ? "Periodic" : "Triggered") &&
		  cJSON_AddStringToObject(e, "Name", sa_kind_name(kind)) &&
		  cJSON_AddBoolToObject(e, "IsEmpty", is_empty) &&
		  cJSON_AddStringToObject(e, "PayloadSchemaVersion", "1.0") &&
		  cJSON_AddStringToObject(e, "Id", id) &&
		  cJSON_AddStringToObject(e, "TimestampLocal", local) &&
		  cJSON_AddStringToObject(e, "TimestampUTC", utc) &&
		  cJSON_AddArrayToObject(e, "Payload");
	char *t = ok ? cJSON_PrintUnformatted(e) : NULL;
	cJSON_Delete(e);
	return t;
}

/* Append one event made of head (ending "[]}") with items texts[from..to) to the list tail. */
static sh_rc emit(struct sa_event ***tail, enum sa_kind kind, const char *head, char **texts,
		  size_t from, size_t to, size_t payload_bytes)
{
	size_t hl = strlen(head);
	size_t len = hl + payload_bytes + (to > from ? to - from - 1 : 0);
	struct sa_event *ev = malloc(sizeof *ev + len + 1);
	if (!ev)
		return SH_E_NOMEM;
	ev->next = NULL;
	ev->kind = kind;
	size_t o = hl - 2;          /* keep "...[" */
	memcpy(ev->json, head, o);
	for (size_t i = from; i < to; i++) {
		if (i > from)
			ev->json[o++] = ',';
		size_t l = strlen(texts[i]);
		memcpy(ev->json + o, texts[i], l);
		o += l;
	}
	memcpy(ev->json + o, "]}", 3);
	ev->len = o + 2;
	**tail = ev;
	*tail = &ev->next;
	return SH_OK;
}

sh_rc sa_event_make(enum sa_kind kind, const cJSON *items, int64_t now_us, int32_t tz_off_s,
		    struct sa_rng *rng, const struct sa_envelope *env, size_t max_message,
		    struct sa_event **out, size_t *skipped)
{
	*out = NULL;
	if (skipped)
		*skipped = 0;
	if ((unsigned)kind >= SA_KIND_COUNT || !cJSON_IsArray(items))
		return SH_E_INVALID;
	char utc[32], local[32];
	if (sa_time_utc(now_us, utc) != SH_OK || sa_time_local(now_us, tz_off_s, local) != SH_OK)
		return SH_E_INVALID;
	size_t n = (size_t)cJSON_GetArraySize(items);
	size_t overhead = sa_envelope_overhead(env);
	size_t room = max_message > overhead ? max_message - overhead : 0;
	struct sa_event *list = NULL, **tail = &list;
	sh_rc rc = SH_OK;
	char id[37];
	if (n == 0) {
		if (!sa_kind_periodic(kind))
			return SH_OK;
		sa_guid(rng, id);
		char *head = event_head(kind, true, id, local, utc);
		if (!head)
			return SH_E_NOMEM;
		if (strlen(head) <= room)
			rc = emit(&tail, kind, head, NULL, 0, 0, 0);
		cJSON_free(head);
		*out = list;
		return rc;
	}
	char **texts = calloc(n, sizeof *texts);
	if (!texts)
		return SH_E_NOMEM;
	size_t i = 0;
	for (const cJSON *it = items->child; it; it = it->next, i++) {
		texts[i] = cJSON_PrintUnformatted(it);
		if (!texts[i]) {
			rc = SH_E_NOMEM;
			goto cleanup;
		}
	}
	/* Greedy split: fill an event while head + items + commas fits the room. */
	size_t from = 0;
	while (from < n && rc == SH_OK) {
		sa_guid(rng, id);
		char *head = event_head(kind, false, id, local, utc);
		if (!head) {
			rc = SH_E_NOMEM;
			break;
		}
		size_t hl = strlen(head), bytes = 0, to = from;
		while (to < n) {
			size_t l = strlen(texts[to]);
			size_t total = hl + bytes + l + (to > from ? to - from : 0);
			if (total > room)
				break;
			bytes += l;
			to++;
		}
		if (to == from) {
			/* this item cannot fit even alone: leave it out */
			if (skipped)
				(*skipped)++;
			from++;
		} else {
			rc = emit(&tail, kind, head, texts, from, to, bytes);
			from = to;
		}
		cJSON_free(head);
	}
cleanup:
	for (size_t k = 0; k < n; k++)
		cJSON_free(texts[k]);
	free(texts);
	if (rc != SH_OK) {
		sa_event_free_list(list);
		return rc;
	}
	*out = list;
	return SH_OK;
}

int sa_queue_for(const struct sa_config *cfg, enum sa_kind kind)
{
	if ((unsigned)kind >= SA_KIND_COUNT)
		return -1;
	if (kind == SA_CONFIGURATION_ERROR || kind == SA_DROPPED_EVENTS_STATISTICS ||
	    kind == SA_MESSAGE_STATISTICS)
		return cfg->operational == SA_PRIO_OFF ? -1 : SA_Q_OPER;
	switch (cfg->prio[kind]) {
	case SA_PRIO_HIGH:
		return SA_Q_HIGH;
	case SA_PRIO_LOW:
		return SA_Q_LOW;
	case SA_PRIO_OFF:
		break;
	}
	return -1;
}

size_t sa_queues_bytes(const struct sa_queues *qs)
{
	size_t b = 0;
	for (int i = 0; i < SA_Q_COUNT; i++)
		b += qs->q[i].bytes;
	return b;
}

size_t sa_queues_push(struct sa_queues *qs, const struct sa_config *cfg, struct sa_event *list)
{
	size_t dropped = 0;
	while (list) {
		struct sa_event *ev = list;
		list = ev->next;
		ev->next = NULL;
		int qi = sa_queue_for(cfg, ev->kind);
		if (qi < 0) {
			free(ev);
			continue;
		}
		struct sa_queue *q = &qs->q[qi];
		q->collected++;
		if ((int64_t)(sa_queues_bytes(qs) + ev->len) > cfg->max_cache_bytes) {
			q->dropped++;
			dropped++;
			free(ev);
			continue;
		}
		if (q->tail)
			q->tail->next = ev;
		else
			q->head = ev;
		q->tail = ev;
		q->n++;
		q->bytes += ev->len;
	}
	return dropped;
}

void sa_queues_clear(struct sa_queues *qs)
{
	for (int i = 0; i < SA_Q_COUNT; i++) {
		sa_event_free_list(qs->q[i].head);
		qs->q[i].head = qs->q[i].tail = NULL;
		qs->q[i].n = qs->q[i].bytes = 0;
	}
}

cJSON *sa_queues_take_dropped(struct sa_queues *qs)
{
	cJSON *a = cJSON_CreateArray();
	static const char *const names[2] = {"High", "Low"};
	for (int i = 0; a && i < 2; i++) {
		cJSON *o = cJSON_CreateObject();
		if (!o || !cJSON_AddItemToArray(a, o) ||
		    !cJSON_AddStringToObject(o, "Queue", names[i]) ||
		    !cJSON_AddNumberToObject(o, "CollectedEvents", (double)qs->q[i].collected) ||
		    !cJSON_AddNumberToObject(o, "DroppedEvents", (double)qs->q[i].dropped)) {
			cJSON_Delete(a);
			return NULL;
		}
	}
	for (int i = 0; i < SA_Q_COUNT; i++)
		qs->q[i].collected = qs->q[i].dropped = 0;
	return a;
}

static struct sa_event *pop(struct sa_queue *q)
{
	struct sa_event *ev = q->head;
	if (!ev)
		return NULL;
	q->head = ev->next;
	if (!q->head)
		q->tail = NULL;
	q->n--;
	q->bytes -= ev->len;
	ev->next = NULL;
	return ev;
}

sh_rc sa_batch_build(struct sa_queues *qs, enum sa_qid due, size_t max_message,
		     const struct sa_envelope *env, char **out, size_t *out_len, size_t *n_events)
{
	*out = NULL;
	*out_len = 0;
	if (n_events)
		*n_events = 0;
	enum sa_qid order[3] = {SA_Q_OPER, due, due == SA_Q_HIGH ? SA_Q_LOW : SA_Q_HIGH};
	size_t overhead = sa_envelope_overhead(env);
	size_t cap = (max_message > overhead ? max_message : overhead) + 1;
	char *buf = malloc(cap);
	if (!buf)
		return SH_E_NOMEM;
	size_t o = (size_t)write_envelope_head(env, buf, cap);
	size_t count = 0;
	for (int k = 0; k < 3; k++) {
		struct sa_queue *q = &qs->q[order[k]];
		while (q->head) {
			size_t need = q->head->len + (count ? 1 : 0);
			if (o + need + 2 > max_message) {
				if (count == 0) {
					/* cannot fit alone (the size limit shrank): drop it */
					q->dropped++;
					free(pop(q));
					continue;
				}
				goto full;
			}
			struct sa_event *ev = pop(q);
			if (count)
				buf[o++] = ',';
			memcpy(buf + o, ev->json, ev->len);
			o += ev->len;
			count++;
			free(ev);
		}
	}
full:
	if (count == 0) {
		free(buf);
		return SH_E_NOTFOUND;
	}
	memcpy(buf + o, "]}", 3);
	*out = buf;
	*out_len = o + 2;
	if (n_events)
		*n_events = count;
	return SH_OK;
}

void sa_sched_start(struct sa_sched *s, int64_t now_us)
{
	s->last_high_us = now_us;
	s->last_low_us = now_us;
	s->last_triggered_us = now_us;
	s->last_snapshot_us = INT64_MIN;
}

int sa_sched_due(const struct sa_sched *s, const struct sa_config *cfg,
		 const struct sa_queues *qs, int64_t now_us)
{
	if ((int64_t)sa_queues_bytes(qs) > cfg->max_message_bytes)
		return SA_Q_HIGH;
	if ((qs->q[SA_Q_HIGH].n || qs->q[SA_Q_OPER].n) &&
	    now_us - s->last_high_us >= (int64_t)cfg->high_freq_ms * 1000)
		return SA_Q_HIGH;
	if (qs->q[SA_Q_LOW].n && now_us - s->last_low_us >= (int64_t)cfg->low_freq_ms * 1000)
		return SA_Q_LOW;
	return -1;
}

bool sa_sched_snapshot_due(const struct sa_sched *s, const struct sa_config *cfg, int64_t now_us)
{
	if (s->last_snapshot_us == INT64_MIN)
		return true;
	return now_us - s->last_snapshot_us >= (int64_t)cfg->snapshot_ms * 1000;
}
