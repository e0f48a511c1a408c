/*
 * sa_synth.c: room sa_synth (see sa_synth.h): made-up but plausible processes, logins,
 * connections, ports, users, system information and firewall rules from one generator. Pure:
 * it never reads the machine; everything derives from the seed.
 */
#include "sa_synth.h"

#include <stdio.h>

#include <cjson/cJSON.h>

static const char *const exes[] = {"/usr/bin/curl", "/bin/bash", "/usr/bin/python3",
				   "/usr/sbin/sshd", "/usr/bin/wget", "/bin/ls"};
static const char *const users[] = {"root", "pi", "svc"};
static const char *const uids[] = {"0", "1000", "998"};

void sa_synth_init(struct sa_synth *s, uint64_t seed)
{
	sa_rng_seed(&s->rng, seed);
	s->calls = 0;
}

static unsigned pick(struct sa_synth *s, unsigned n)
{
	return (unsigned)(sa_rng_next(&s->rng) % n);
}

static cJSON *obj_in(cJSON *arr)
{
	cJSON *o = cJSON_CreateObject();
	if (o && !cJSON_AddItemToArray(arr, o)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static void ip(struct sa_synth *s, char out[32])
{
	snprintf(out, 32, "198.51.100.%u", 1 + pick(s, 250));
}

cJSON *sa_synth_items(struct sa_synth *s, enum sa_kind kind)
{
	cJSON *a = cJSON_CreateArray();
	if (!a)
		return NULL;
	s->calls++;
	char buf[128], addr[32];
	unsigned n;
	switch (kind) {
	case SA_PROCESS_CREATE:
		n = 1 + pick(s, 3);
		for (unsigned i = 0; i < n; i++) {
			cJSON *o = obj_in(a);
			unsigned e = pick(s, 6), u = pick(s, 3);
			snprintf(buf, sizeof buf, "%s --synthetic %u", exes[e], pick(s, 1000));
			if (!o || !cJSON_AddStringToObject(o, "Executable", exes[e]) ||
			    !cJSON_AddNumberToObject(o, "ProcessId", 1000 + pick(s, 30000)) ||
			    !cJSON_AddNumberToObject(o, "ParentProcessId", 1 + pick(s, 999)) ||
			    !cJSON_AddStringToObject(o, "UserId", uids[u]) ||
			    !cJSON_AddStringToObject(o, "UserName", users[u]) ||
			    !cJSON_AddStringToObject(o, "CommandLine", buf))
				goto fail;
		}
		return a;
	case SA_PROCESS_TERMINATE:
		n = pick(s, 3);
		for (unsigned i = 0; i < n; i++) {
			cJSON *o = obj_in(a);
			if (!o || !cJSON_AddStringToObject(o, "Executable", exes[pick(s, 6)]) ||
			    !cJSON_AddNumberToObject(o, "ProcessId", 1000 + pick(s, 30000)) ||
			    !cJSON_AddNumberToObject(o, "ExitStatus", pick(s, 4) == 0 ? 1 : 0))
				goto fail;
		}
		return a;
	case SA_CONNECTION_CREATE: {
		cJSON *o = obj_in(a);
		ip(s, addr);
		snprintf(buf, sizeof buf, "%u", 1024 + pick(s, 60000));
		if (!o || !cJSON_AddStringToObject(o, "Executable", "/usr/bin/curl") ||
		    !cJSON_AddNumberToObject(o, "ProcessId", 1000 + pick(s, 30000)) ||
		    !cJSON_AddStringToObject(o, "RemoteAddress", addr) ||
		    !cJSON_AddStringToObject(o, "RemotePort", pick(s, 2) ? "443" : "80") ||
		    !cJSON_AddStringToObject(o, "LocalAddress", "192.0.2.10") ||
		    !cJSON_AddStringToObject(o, "LocalPort", buf) ||
		    !cJSON_AddStringToObject(o, "Direction", "Out") ||
		    !cJSON_AddStringToObject(o, "Protocol", "tcp"))
			goto fail;
		return a;
	}
	case SA_LOGIN: {
		cJSON *o = obj_in(a);
		unsigned u = pick(s, 3);
		ip(s, addr);
		snprintf(buf, sizeof buf, "%u", 1024 + pick(s, 60000));
		if (!o || !cJSON_AddNumberToObject(o, "ProcessId", 1000 + pick(s, 30000)) ||
		    !cJSON_AddStringToObject(o, "UserId", uids[u]) ||
		    !cJSON_AddStringToObject(o, "UserName", users[u]) ||
		    !cJSON_AddStringToObject(o, "Operation", "sshd:password") ||
		    !cJSON_AddStringToObject(o, "Executable", "/usr/sbin/sshd") ||
		    !cJSON_AddStringToObject(o, "Result", pick(s, 3) ? "Fail" : "Success") ||
		    !cJSON_AddStringToObject(o, "RemoteAddress", addr) ||
		    !cJSON_AddStringToObject(o, "RemotePort", buf) ||
		    !cJSON_AddStringToObject(o, "LocalPort", "22"))
			goto fail;
		return a;
	}
	case SA_LISTENING_PORTS: {
		static const char *const ports[] = {"22", "80", "443", "1883", "8888"};
		n = 2 + pick(s, 3);
		for (unsigned i = 0; i < n; i++) {
			cJSON *o = obj_in(a);
			if (!o || !cJSON_AddStringToObject(o, "Protocol", i % 2 ? "tcp6" : "tcp") ||
			    !cJSON_AddStringToObject(o, "LocalAddress", i % 2 ? "::" : "0.0.0.0") ||
			    !cJSON_AddStringToObject(o, "LocalPort", ports[i]) ||
			    !cJSON_AddStringToObject(o, "RemoteAddress", i % 2 ? "::" : "0.0.0.0") ||
			    !cJSON_AddStringToObject(o, "RemotePort", "*"))
				goto fail;
		}
		return a;
	}
	case SA_LOCAL_USERS:
		for (unsigned i = 0; i < 3; i++) {
			cJSON *o = obj_in(a);
			if (!o || !cJSON_AddStringToObject(o, "UserName", users[i]) ||
			    !cJSON_AddStringToObject(o, "UserId", uids[i]) ||
			    !cJSON_AddStringToObject(o, "GroupNames", i == 1 ? "pi;sudo;adm" : users[i]) ||
			    !cJSON_AddStringToObject(o, "GroupIds", i == 1 ? "1000;27;4" : uids[i]))
				goto fail;
		}
		return a;
	case SA_SYSTEM_INFORMATION: {
		cJSON *o = obj_in(a);
		unsigned total = 262144u * (1 + pick(s, 8));
		if (!o || !cJSON_AddStringToObject(o, "OSName", "Synthetic Linux") ||
		    !cJSON_AddStringToObject(o, "OSVersion", "6.1.0-synthetic") ||
		    !cJSON_AddStringToObject(o, "OsArchitecture", "x86_64") ||
		    !cJSON_AddStringToObject(o, "HostName", "synthetic-host") ||
		    !cJSON_AddNumberToObject(o, "TotalPhysicalMemoryInKB", total) ||
		    !cJSON_AddNumberToObject(o, "FreePhysicalMemoryInKB", total / (2 + pick(s, 6))))
			goto fail;
		return a;
	}
	case SA_FIREWALL_CONFIGURATION: {
		cJSON *o = obj_in(a), *p = NULL;
		if (!o || !cJSON_AddStringToObject(o, "ChainName", "INPUT") ||
		    !cJSON_AddStringToObject(o, "Direction", "In") ||
		    !cJSON_AddNumberToObject(o, "Priority", 0) ||
		    !cJSON_AddBoolToObject(o, "Enabled", true) ||
		    !cJSON_AddStringToObject(o, "Action", "Allow") ||
		    !cJSON_AddStringToObject(o, "Protocol", "tcp") ||
		    !cJSON_AddStringToObject(o, "DestinationPort", "22") ||
		    !(p = obj_in(a)) || !cJSON_AddStringToObject(p, "ChainName", "INPUT") ||
		    !cJSON_AddStringToObject(p, "Direction", "In") ||
		    !cJSON_AddNumberToObject(p, "Priority", 1) ||
		    !cJSON_AddBoolToObject(p, "Enabled", true) ||
		    !cJSON_AddStringToObject(p, "Action", pick(s, 2) ? "Allow" : "Deny"))
			goto fail;
		return a;
	}
	default:
		break;
	}
fail:
	cJSON_Delete(a);
	return NULL;
}
