/*
 * check_io_ticker.c: the loop's ticker (the scenario runner's clock) never runs while a round of
 * network events still holds the write batch open: by then that round has committed and its
 * hub events have been delivered (io/loop.h). A forked client keeps the MQTT listener busy
 * with CONNECTs that are refused, one TCP connection each, while a 1 ms ticker looks.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "hub/hub.h"
#include "hub/session.h"
#include "io/loop.h"
#include "store/store.h"

static int64_t now_us(void *ctx)
{
	(void)ctx;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void fill_random(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)rand();
}

/* An MQTT 3.1.1 CONNECT as dev1 with a password that is not a SAS token. */
static size_t build_connect(unsigned char *p)
{
	static const char id[] = "dev1", user[] = "localhost/dev1/?api-version=2021-04-12",
			  pass[] = "not-a-token";
	size_t n = 0;
	unsigned char body[256];
	static const unsigned char head[] = {0, 4, 'M', 'Q', 'T', 'T', 4, 0xC2, 0, 60};
	memcpy(body, head, sizeof head);
	n = sizeof head;
	const char *const parts[] = {id, user, pass};
	for (int i = 0; i < 3; i++) {
		size_t len = strlen(parts[i]);
		body[n++] = (unsigned char)(len >> 8);
		body[n++] = (unsigned char)len;
		memcpy(body + n, parts[i], len);
		n += len;
	}
	p[0] = 0x10;
	p[1] = (unsigned char)n;   /* < 128: one length byte */
	memcpy(p + 2, body, n);
	return n + 2;
}

/* The child: refused CONNECTs for `ms` milliseconds; exits with how many were answered (max 255). */
static void client(int port, int ms)
{
	unsigned char pkt[300];
	size_t len = build_connect(pkt);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	int64_t end = now_us(NULL) + (int64_t)ms * 1000;
	int answered = 0;
	while (now_us(NULL) < end) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		if (write(fd, pkt, len) == (ssize_t)len) {
			unsigned char ack[8];
			if (read(fd, ack, sizeof ack) >= 4 && ack[0] == 0x20)
				answered++;
		}
		close(fd);
	}
	_exit(answered > 255 ? 255 : answered);
}

struct watch {
	struct sh_hub *hub;
	struct io_loop *loop;
	pid_t child;
	int child_status;
	long ticks, held;
	volatile sig_atomic_t stop;
};

static void tick(void *arg)
{
	struct watch *w = arg;
	w->ticks++;
	if (hub_batch_held(w->hub))
		w->held++;
	if (w->child && waitpid(w->child, &w->child_status, WNOHANG) == w->child) {
		w->child = 0;
		w->stop = 1;
		io_loop_wake(w->loop);
	}
}

START_TEST(ticker_sees_committed_rounds)
{
	char dir[] = "/tmp/simhub-ticker-XXXXXX";
	ck_assert(mkdtemp(dir));
	char db[64], err[512];
	snprintf(db, sizeof db, "%s/t.db", dir);
	struct sh_store *st;
	ck_assert_msg(store_open(db, &st, err, sizeof err) == SH_OK, "%s", err);
	struct sh_hub_env env = {now_us, fill_random, NULL};
	struct iothub_err herr;
	struct watch w = {0};
	ck_assert(hub_open(st, &env, &w.hub, &herr) == SH_OK);
	struct hub_sessions *reg = hub_sessions_new(w.hub);
	ck_assert(reg);
	struct io_config cfg = {.bind = "127.0.0.1", .port = {0, -1, -1}};
	ck_assert_msg(io_loop_start(w.hub, reg, &cfg, &w.loop, err, sizeof err) == SH_OK, "%s", err);
	int port = io_loop_port(w.loop, IO_MQTT);
	ck_assert_int_gt(port, 0);

	w.child = fork();
	ck_assert_int_ge(w.child, 0);
	if (w.child == 0)
		client(port, 1500);
	io_loop_set_ticker(w.loop, tick, &w, 1000);
	io_loop_run(w.loop, &w.stop);
	io_loop_set_ticker(w.loop, NULL, NULL, 0);

	ck_assert_msg(WIFEXITED(w.child_status), "the client did not exit");
	int answered = WEXITSTATUS(w.child_status);
	ck_assert_msg(answered >= 20, "only %d CONNECTs answered in 1.5 s", answered);
	ck_assert_msg(w.ticks >= 100, "only %ld ticks in 1.5 s", w.ticks);
	ck_assert_msg(w.held == 0, "%ld of %ld ticks ran with the batch of a round still open",
		      w.held, w.ticks);

	io_loop_free(w.loop);
	hub_sessions_free(reg);
	hub_close(w.hub);
	store_close(st);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("io_ticker");
	TCase *tc = tcase_create("ticker");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, ticker_sees_committed_rounds);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
