/*
 * subtest.c - t_run and the names of subtests.
 *
 * Names follow Go's testing package: white space becomes '_', bytes that do
 * not print are escaped as in a Go string literal, and a name used again
 * under the same parent gets the suffix #01, #02, ...  The names already
 * used under a test are kept in a small hash table owned by that test.
 * A full name past 16 KiB is refused: test2json lines must stay under
 * 64 KiB, and a -json reporter would otherwise split a test's output into
 * events of a byte each.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

struct name_entry {
	char *name;
	unsigned next;          /* the suffix the next duplicate gets */
};

struct deft_names {
	struct name_entry *slots;
	size_t cap;             /* a power of two */
	size_t used;
};

static uint64_t hash_name(const char *s)
{
	uint64_t h = 1469598103934665603u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211u;
	return h;
}

static struct name_entry *names_slot(struct deft_names *n, const char *name)
{
	size_t i = hash_name(name) & (n->cap - 1);
	while (n->slots[i].name && strcmp(n->slots[i].name, name) != 0)
		i = (i + 1) & (n->cap - 1);
	return &n->slots[i];
}

static void names_grow(struct deft_names *n)
{
	struct deft_names bigger = {NULL, n->cap ? n->cap * 2 : 16, n->used};
	bigger.slots = deft_xcalloc(bigger.cap, sizeof(*bigger.slots));
	for (size_t i = 0; i < n->cap; i++)
		if (n->slots[i].name)
			*names_slot(&bigger, n->slots[i].name) = n->slots[i];
	deft_free(n->slots);
	*n = bigger;
}

/* The entry for name, added with next = 0 when new. */
static struct name_entry *names_get(struct deft_names *n, const char *name,
                                    bool *existed)
{
	if ((n->used + 1) * 4 > n->cap * 3)
		names_grow(n);
	struct name_entry *e = names_slot(n, name);
	*existed = e->name != NULL;
	if (!*existed) {
		e->name = deft_xstrdup(name);
		e->next = 0;
		n->used++;
	}
	return e;
}

void deft_names_free(T *t)
{
	struct deft_names *n = t->subnames;
	if (n == NULL)
		return;
	for (size_t i = 0; i < n->cap; i++)
		deft_free(n->slots[i].name);
	deft_free(n->slots);
	deft_free(n);
	t->subnames = NULL;
}

static bool is_space_ascii(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/* Length of the valid UTF-8 sequence at s (1 to 4), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, uint32_t *rune)
{
	if (s[0] < 0x80) {
		*rune = s[0];
		return 1;
	}
	size_t n = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc0 ? 2 : 0;
	if (n == 0 || s[0] > 0xf4)
		return 0;
	uint32_t r = s[0] & (0x7f >> n);
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		r = (r << 6) | (s[i] & 0x3f);
	}
	static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
	if (r < min[n] || r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff))
		return 0;
	*rune = r;
	return n;
}

static bool is_space_rune(uint32_t r)
{
	return r == 0x85 || r == 0xa0 || r == 0x1680 ||
	       (r >= 0x2000 && r <= 0x200a) || r == 0x2028 || r == 0x2029 ||
	       r == 0x202f || r == 0x205f || r == 0x3000;
}

/* Go's rewrite(): the subtest name as it appears in the full name. */
static void rewrite_name(struct deft_buf *b, const char *name)
{
	const unsigned char *s = (const unsigned char *)name;
	while (*s) {
		uint32_t r;
		size_t n = utf8_len(s, &r);
		if (n == 0) {
			deft_buf_puts(b, "\xef\xbf\xbd"); /* U+FFFD */
			s++;
		} else if (n == 1 && is_space_ascii(*s)) {
			deft_buf_putc(b, '_');
			s++;
		} else if (n == 1 && (*s < 0x20 || *s == 0x7f)) {
			if (*s == '\a')
				deft_buf_puts(b, "\\a");
			else if (*s == '\b')
				deft_buf_puts(b, "\\b");
			else
				deft_buf_printf(b, "\\x%02x", *s);
			s++;
		} else if (is_space_rune(r)) {
			deft_buf_putc(b, '_');
			s += n;
		} else if (r >= 0x80 && r < 0xa0) {
			deft_buf_printf(b, "\\u%04x", (unsigned)r);
			s += n;
		} else {
			deft_buf_add(b, s, n);
			s += n;
		}
	}
}

/* The longest full name a subtest may have: each report must carry it
 * whole in one line (test2json readers give up past 64 KiB) and a test's
 * process in one message to the runner. */
enum { NAME_MAX_BYTES = 16384 };

/* Go's matcher.unique(): parent/name, with #NN added for duplicates.
 * A name too long fails t, saying so for api, and gives NULL. */
char *deft_subtest_name(T *t, const char *api, const char *subname)
{
	struct deft_buf b = DEFT_BUF_INIT;
	deft_buf_printf(&b, "%s/", t->name);
	rewrite_name(&b, subname);
	if (b.len > NAME_MAX_BYTES) {
		deft_fail_at(t, NULL, 0, "%s: the subtest's full name would be "
		             "%zu bytes long, past the %d a name may have: "
		             "%.60s...", api, b.len, NAME_MAX_BYTES, b.data);
		deft_buf_free(&b);
		return NULL;
	}
	if (t->subnames == NULL)
		t->subnames = deft_xcalloc(1, sizeof(*t->subnames));
	bool empty = subname[0] == '\0';
	for (;;) {
		bool existed;
		struct name_entry *e = names_get(t->subnames, b.data, &existed);
		if (!existed && !empty) {
			e->next = 1;
			return deft_buf_take(&b);
		}
		unsigned n = e->next++;
		deft_buf_printf(&b, "#%02u", n);
		empty = false;
	}
}

bool t_run(T *t, const char *name, t_fn *fn, void *arg)
{
	if (!pthread_equal(t->thread, pthread_self()) ||
	    __atomic_load_n(&t->finished, __ATOMIC_ACQUIRE) ||
	    deft_current() != t) {
		deft_fail_at(t, NULL, 0, "t_run(%s, \"%s\") called from a "
		             "thread or a place that is not running %s's body",
		             t->name, name ? name : "(null)", t->name);
		return false;
	}
	if (t->in_cleanup) {
		deft_fail_at(t, NULL, 0, "t_run(%s, \"%s\") called from a "
		             "cleanup", t->name, name ? name : "(null)");
		return false;
	}
	if (name == NULL || fn == NULL) {
		deft_fail_at(t, NULL, 0, "t_run: %s is NULL",
		             name == NULL ? "the name" : "the function");
		return false;
	}
	if (deft_opt.failfast &&
	    __atomic_load_n(&deft_failures, __ATOMIC_RELAXED))
		return true;
	if (deft_run_interrupted())
		return false;
	char *full = deft_subtest_name(t, "t_run", name);
	if (full == NULL)
		return false;
	if (!deft_selected(full)) {
		deft_free(full);
		return true;
	}
	T *sub = deft_test_new(t, full);
	deft_free(full);
	bool ok = true;
	if (deft_test_spawn(sub, fn, arg)) {
		ok = !t_failed(sub);
		deft_test_free(sub);
	}
	if (__atomic_load_n(&t->stop_pending, __ATOMIC_ACQUIRE))
		deft_stop(t);
	return ok;
}
