/*
 * shard.c - splitting a suite over machines: -shard i/n, GoogleTest's
 * GTEST_SHARD_INDEX/GTEST_TOTAL_SHARDS, and Bazel's test protocol.
 *
 * A top-level test belongs to shard hash(name) mod n, with 64-bit FNV-1a
 * over the name's bytes: shards are disjoint, together they are the whole
 * suite, and a test stays in its shard whatever the order of registration,
 * the machine or the run, so a CI matrix can be resized without tests
 * moving between shards needlessly.  The cost is that shards are balanced
 * only on average; a position-based split would balance exactly but move
 * every test when one is added.
 *
 * Bazel (https://bazel.build/reference/test-encyclopedia): it sets
 * TEST_TOTAL_SHARDS and TEST_SHARD_INDEX, expects the test to touch
 * TEST_SHARD_STATUS_FILE to show it shards, and reads a test that left
 * TEST_PREMATURE_EXIT_FILE behind as having exited early; that file is
 * created when the run starts and removed when it ends normally.  Its
 * private TEST_TMPDIR becomes TMPDIR, where tests and what they run make
 * their temporary files.  XML_OUTPUT_FILE and TESTBRIDGE_TEST_ONLY are
 * read in cli.c.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static unsigned shard_index, shard_total = 1;
static bool shard_set;

/* Parses a shard number "n" into *out, lo <= n <= hi. */
static bool parse_number(const char *s, long long lo, long long hi,
                         unsigned *out)
{
	const char *err = NULL;
	long long v = strtonum(s, lo, hi, &err);
	if (err)
		return false;
	*out = (unsigned)v;
	return true;
}

static int set_shard(const char *index, const char *total,
                     const char *what, struct deft_buf *err)
{
	unsigned i, n;
	if (!parse_number(total, 1, 1000000, &n)) {
		deft_buf_printf(err, "invalid total shards \"%s\" in %s: "
		                "want 1 to 1000000", total, what);
		return -1;
	}
	if (!parse_number(index, 0, (long long)n - 1, &i)) {
		deft_buf_printf(err, "invalid shard index \"%s\" in %s: want "
		                "0 to %u", index, what, n - 1);
		return -1;
	}
	shard_index = i;
	shard_total = n;
	shard_set = true;
	return 0;
}

int deft_shard_parse(const char *value, struct deft_buf *err)
{
	const char *slash = strchr(value, '/');
	if (slash == NULL) {
		deft_buf_printf(err, "invalid value \"%s\" for -shard: want "
		                "INDEX/TOTAL, as 0/4", value);
		return -1;
	}
	char index[32];
	size_t len = (size_t)(slash - value);
	if (len >= sizeof(index))
		len = sizeof(index) - 1;
	memcpy(index, value, len);
	index[len] = '\0';
	return set_shard(index, slash + 1, "-shard", err);
}

/* Reads one pair of shard variables; 1 if neither is set. */
static int shard_pair(const char *index_var, const char *total_var,
                      struct deft_buf *err)
{
	const char *index = getenv(index_var), *total = getenv(total_var);
	if (index == NULL && total == NULL)
		return 1;
	if (index == NULL || total == NULL) {
		deft_buf_printf(err, "%s is set but %s is not",
		                index ? index_var : total_var,
		                index ? total_var : index_var);
		return -1;
	}
	char what[96];
	snprintf(what, sizeof(what), "%s/%s", index_var, total_var);
	return set_shard(index, total, what, err);
}

/* Creates path, empty, if it does not exist. */
static void touch(const char *path, struct deft_buf *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
	if (fd < 0)
		deft_buf_printf(err, "cannot create %s: %s", path,
		                strerror(errno));
	else
		close(fd);
}

int deft_shard_from_env(struct deft_buf *err)
{
	const char *status = getenv("TEST_SHARD_STATUS_FILE");
	if (status && *status) {
		size_t before = err->len;
		touch(status, err);
		if (err->len != before)
			return -1;
	}
	const char *tmp = getenv("TEST_TMPDIR");
	if (tmp && *tmp && setenv("TMPDIR", tmp, 1) != 0) {
		deft_buf_printf(err, "cannot set TMPDIR to TEST_TMPDIR");
		return -1;
	}
	if (shard_set)
		return 0;       /* -shard wins */
	int rc = shard_pair("TEST_SHARD_INDEX", "TEST_TOTAL_SHARDS", err);
	if (rc == 1)
		rc = shard_pair("GTEST_SHARD_INDEX", "GTEST_TOTAL_SHARDS",
		                err);
	return rc < 0 ? -1 : 0;
}

bool deft_in_shard(const char *name)
{
	uint64_t h = 0xcbf29ce484222325u;
	for (const char *s = name; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3u;
	return h % shard_total == shard_index;
}

bool deft_sharded(unsigned *index, unsigned *total)
{
	*index = shard_index;
	*total = shard_total;
	return shard_total > 1;
}

void deft_premature_exit_mark(bool running)
{
	const char *path = getenv("TEST_PREMATURE_EXIT_FILE");
	if (path == NULL || *path == '\0')
		return;
	if (running) {
		struct deft_buf err = DEFT_BUF_INIT;
		touch(path, &err);
		if (err.len)
			fprintf(stderr, "deft: %s\n", err.data);
		deft_buf_free(&err);
	} else {
		unlink(path);
	}
}
