/*
 * match.c - the -run and -skip patterns, matched level by level.
 *
 * As in go test, a pattern is split at each '/' that is not inside
 * brackets or parentheses, and element i must match level i of a test's
 * name ("a/b/c" has three); a top-level '|' separates alternatives, each
 * split the same way.  Elements are POSIX extended regular expressions,
 * unanchored.  A name with fewer levels than the pattern matches
 * partially: the test runs so that its subtests can be matched.
 */
#include "internal.h"

#include <regex.h>
#include <stdlib.h>
#include <string.h>

struct element {
	bool any;               /* empty element: matches everything */
	regex_t re;
};

struct alternative {
	struct element *elems;
	size_t n;
};

struct deft_filter {
	struct alternative *alts;
	size_t n;
};

static bool add_element(struct alternative *a, const char *s, size_t len,
                        size_t index, const char *flag, struct deft_buf *err)
{
	a->elems = deft_xreallocarray(a->elems, a->n + 1, sizeof(*a->elems));
	struct element *e = &a->elems[a->n];
	char *pat = deft_xstrndup(s, len);
	e->any = len == 0;
	if (!e->any) {
		int rc = regcomp(&e->re, pat, REG_EXTENDED | REG_NOSUB);
		if (rc != 0) {
			char msg[256];
			regerror(rc, &e->re, msg, sizeof(msg));
			deft_buf_printf(err, "invalid regular expression for "
			                "%s element %zu (\"%s\"): %s", flag,
			                index, pat, msg);
			deft_free(pat);
			return false;
		}
	}
	deft_free(pat);
	a->n++;
	return true;
}

static struct alternative *add_alternative(struct deft_filter *f)
{
	f->alts = deft_xreallocarray(f->alts, f->n + 1, sizeof(*f->alts));
	f->alts[f->n] = (struct alternative){NULL, 0};
	return &f->alts[f->n++];
}

struct deft_filter *deft_filter_new(const char *pattern, const char *flag,
                                    struct deft_buf *err)
{
	struct deft_filter *f = deft_xcalloc(1, sizeof(*f));
	struct alternative *alt = add_alternative(f);
	int brackets = 0, parens = 0;
	size_t index = 0;
	const char *start = pattern;
	for (const char *p = pattern;; p++) {
		char c = *p;
		bool split = c == '\0' ||
		             ((c == '/' || c == '|') && brackets == 0 &&
		              parens == 0);
		if (split) {
			if (!add_element(alt, start, (size_t)(p - start),
			                 index++, flag, err)) {
				deft_filter_free(f);
				return NULL;
			}
			if (c == '\0')
				break;
			if (c == '|')
				alt = add_alternative(f);
			start = p + 1;
		} else if (c == '[') {
			brackets++;
		} else if (c == ']') {
			if (--brackets < 0)
				brackets = 0;
		} else if (c == '(' && brackets == 0) {
			parens++;
		} else if (c == ')' && brackets == 0) {
			parens--;
		} else if (c == '\\' && p[1] != '\0') {
			p++;
		}
	}
	return f;
}

void deft_filter_free(struct deft_filter *f)
{
	if (f == NULL)
		return;
	for (size_t i = 0; i < f->n; i++) {
		for (size_t j = 0; j < f->alts[i].n; j++)
			if (!f->alts[i].elems[j].any)
				regfree(&f->alts[i].elems[j].re);
		deft_free(f->alts[i].elems);
	}
	deft_free(f->alts);
	deft_free(f);
}

static bool alternative_match(const struct alternative *a, const char *name,
                              bool *partial)
{
	size_t level = 0;
	const char *p = name;
	char elem[1024];
	for (; level < a->n; level++) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		const struct element *e = &a->elems[level];
		if (!e->any) {
			char *s = len < sizeof(elem) ? elem : deft_xmalloc(len + 1);
			memcpy(s, p, len);
			s[len] = '\0';
			bool ok = regexec(&e->re, s, 0, NULL, 0) == 0;
			if (s != elem)
				deft_free(s);
			if (!ok)
				return false;
		}
		if (slash == NULL) {
			level++;
			break;
		}
		p = slash + 1;
	}
	*partial = level < a->n;
	return true;
}

bool deft_filter_match(const struct deft_filter *f, const char *name,
                       bool *partial)
{
	for (size_t i = 0; i < f->n; i++)
		if (alternative_match(&f->alts[i], name, partial))
			return true;
	*partial = false;
	return false;
}

bool deft_selected(const char *name)
{
	bool partial;
	if (deft_opt.run && !deft_filter_match(deft_opt.run, name, &partial))
		return false;
	if (deft_opt.skip && deft_filter_match(deft_opt.skip, name, &partial) &&
	    !partial)
		return false;
	return true;
}
