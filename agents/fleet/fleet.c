/*
 * fleet.c (agents/fleet): the `fleet` program's entry: picks the verb (replay, load) and prints
 * the help. The verbs live in fleet_replay.c and fleet_load.c; this file never opens a
 * connection.
 */
#include <stdio.h>
#include <string.h>

#include "agent_mqtt.h"
#include "fleet_load.h"
#include "fleet_util.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: fleet replay JOURNAL [options]   play a simhub journal back over MQTT\n"
		"       fleet load [options]             synthetic fleet: N devices, a size, a rate\n"
		"       fleet replay --help | fleet load --help   the options of each verb\n"
		"\n"
		"One MQTT connection (libmosquitto, MQTT 3.1.1) per device or module identity, all\n"
		"driven from one thread. Targets simhub or any IoT Hub. The journal format is in\n"
		"docs/recordings.md.\n"
		"Exit status: 0 success; 1 the run failed (errors, or --check found differences);\n"
		"2 usage error or a journal / key map that cannot be read.\n");
}

int main(int argc, char **argv)
{
	agent_log_init("fleet");
	if (argc < 2) {
		usage(stderr);
		return FLEET_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return FLEET_EXIT_OK;
	}
	if (!strcmp(argv[1], "replay"))
		return fleet_replay_main(argc - 2, argv + 2);
	if (!strcmp(argv[1], "load"))
		return fleet_load_main(argc - 2, argv + 2);
	fprintf(stderr, "fleet: unknown verb \"%s\" (replay or load; see fleet --help)\n", argv[1]);
	return FLEET_EXIT_USAGE;
}
