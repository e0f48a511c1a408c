/*
 * check_cli_remote.c: `simhub method invoke` against a real hub with a live libmosquitto device
 * answering (what a shell script cannot do: receive the request and answer on one connection).
 * The CLI runs as a child process that finds the hub through the ready file beside the database;
 * the test thread plays the device. Never talks to the hub's REST API itself.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "harness.h"

#define METHODS_FILTER "$iothub/methods/POST/#"

/* Start `simhub ARGS... --db <hub db>` with stdout and stderr to files; returns the pid. */
static pid_t cli_start(const char *out_path, const char *err_path, const char *const *args)
{
	const char *argv[32];
	int n = 0;
	argv[n++] = getenv("SIMHUB");
	for (const char *const *a = args; *a && n < 28; a++)
		argv[n++] = *a;
	argv[n++] = "--db";
	argv[n++] = hx_hub()->db;
	argv[n] = NULL;
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (o < 0 || e < 0)
			_exit(127);
		dup2(o, 1);
		dup2(e, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

/* Wait for the child (10 s at most) and return its exit code. */
static int cli_wait(pid_t pid)
{
	int64_t end = hx_mono_ms() + 15000;
	int st = 0;
	while (waitpid(pid, &st, WNOHANG) == 0) {
		if (hx_mono_ms() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			ck_abort_msg("the CLI did not finish");
		}
		struct timespec ts = {0, 20000000L};
		nanosleep(&ts, NULL);
	}
	ck_assert_msg(WIFEXITED(st), "the CLI died");
	return WEXITSTATUS(st);
}

static const char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	char *buf = hx_keep(calloc(1, 65536));
	size_t n = fread(buf, 1, 65535, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* The $rid of a method request topic (kept until teardown). */
static const char *rid_of(const char *topic, const char *name)
{
	const char *prefix = hx_fmt("$iothub/methods/POST/%s/?$rid=", name);
	ck_assert_msg(strncmp(topic, prefix, strlen(prefix)) == 0, "topic %s", topic);
	return hx_fmt("%s", topic + strlen(prefix));
}

START_TEST(method_invoke_device_answer_printed)
{
	struct hx_mq *dev = hx_mq_device(HX_DEV1, NULL, HX_DEV1_KEY, false);
	ck_assert_int_eq(hx_mq_subscribe(dev, METHODS_FILTER, 0), 0);
	const char *out = hx_fmt("%s/cli.out", hx_hub()->dir), *err = hx_fmt("%s/cli.err", hx_hub()->dir);
	const char *args[] = {"method", "invoke", HX_DEV1, "reboot", "--payload", "{\"delay\":5}", NULL};
	pid_t pid = cli_start(out, err, args);
	const struct hx_msg *m = hx_mq_next(dev, HX_WAIT_MS);
	ck_assert_msg(m != NULL, "no method request reached the device");
	const char *rid = rid_of(m->topic, "reboot");
	hx_json_eq(m->payload, m->len, "{\"delay\":5}", "method payload");
	const char *answer = "{\"done\":true,\"in\":5}";
	ck_assert(hx_mq_publish(dev, hx_fmt("$iothub/methods/res/201/?$rid=%s", rid), answer,
				strlen(answer), 0, false));
	ck_assert_int_eq(cli_wait(pid), 0);
	const char *text = slurp(out);
	ck_assert_msg(strncmp(text, "status 201\n", 11) == 0, "output: %s / %s", text, slurp(err));
	hx_json_eq(text + 11, strlen(text + 11), answer, "printed payload");
}
END_TEST

START_TEST(method_invoke_json_answer_whole)
{
	struct hx_mq *dev = hx_mq_device(HX_GW, HX_MOD, HX_GW_M1_KEY, true);
	ck_assert_int_eq(hx_mq_subscribe(dev, METHODS_FILTER, 0), 0);
	const char *out = hx_fmt("%s/cli.out", hx_hub()->dir), *err = hx_fmt("%s/cli.err", hx_hub()->dir);
	const char *args[] = {"method", "invoke", HX_GW "/" HX_MOD, "ping", "--json", NULL};
	pid_t pid = cli_start(out, err, args);
	const struct hx_msg *m = hx_mq_next(dev, HX_WAIT_MS);
	ck_assert_msg(m != NULL, "no method request reached the module");
	const char *rid = rid_of(m->topic, "ping");
	hx_json_eq(m->payload, m->len, "null", "no payload is null");
	ck_assert(hx_mq_publish(dev, hx_fmt("$iothub/methods/res/200/?$rid=%s", rid), "\"pong\"", 6, 0,
				false));
	ck_assert_int_eq(cli_wait(pid), 0);
	const char *text = slurp(out);
	hx_json_eq(text, strlen(text), "{\"status\":200,\"payload\":\"pong\"}", "--json answer");
}
END_TEST

START_TEST(method_invoke_silent_device_times_out)
{
	struct hx_mq *dev = hx_mq_device(HX_DEV2, NULL, HX_DEV2_KEY, false);
	ck_assert_int_eq(hx_mq_subscribe(dev, METHODS_FILTER, 0), 0);
	const char *out = hx_fmt("%s/cli.out", hx_hub()->dir), *err = hx_fmt("%s/cli.err", hx_hub()->dir);
	const char *args[] = {"method", "invoke", HX_DEV2, "slow", "--timeout", "5", NULL};
	pid_t pid = cli_start(out, err, args);
	ck_assert_msg(hx_mq_next(dev, HX_WAIT_MS) != NULL, "no method request");
	ck_assert_int_eq(cli_wait(pid), 1);
	const char *text = slurp(err);
	ck_assert_msg(strstr(text, "504101 GatewayTimeout") != NULL, "stderr: %s", text);
	ck_assert_str_eq(slurp(out), "");
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("cli_remote");
	TCase *tc = hx_tcase("method_invoke");
	tcase_add_test(tc, method_invoke_device_answer_printed);
	tcase_add_test(tc, method_invoke_json_answer_whole);
	tcase_add_test(tc, method_invoke_silent_device_times_out);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return hx_run(suite());
}
