/*
 * held.c - what a reporter holds back of a test until it ends (held.h).
 */
#include "held.h"

#include <stdlib.h>
#include <string.h>

struct deft_piece {
	struct deft_piece *next;
	struct deft_buf text;           /* text, or a block's head */
	struct deft_held inner;         /* a block's pieces */
	bool block;
};

static void append(struct deft_held *h, struct deft_piece *p)
{
	if (h->last)
		h->last->next = p;
	else
		h->first = p;
	h->last = p;
}

void deft_held_add(struct deft_held *h, const char *text, size_t n)
{
	if (n == 0)
		return;
	if (h->last == NULL || h->last->block)
		append(h, deft_xcalloc(1, sizeof(struct deft_piece)));
	deft_buf_add(&h->last->text, text, n);
}

void deft_held_add_block(struct deft_held *h, struct deft_buf *head,
                         struct deft_held *inner)
{
	struct deft_piece *p = deft_xcalloc(1, sizeof(*p));
	p->block = true;
	p->text = *head;
	p->inner = *inner;
	*head = (struct deft_buf)DEFT_BUF_INIT;
	*inner = (struct deft_held)DEFT_HELD_INIT;
	append(h, p);
}

void deft_held_move(struct deft_held *h, struct deft_held *from)
{
	if (from->first == NULL)
		return;
	if (h->last)
		h->last->next = from->first;
	else
		h->first = from->first;
	h->last = from->last;
	*from = (struct deft_held)DEFT_HELD_INIT;
}

struct printer {
	FILE *f;
	bool line_start;
	bool ok;
};

static void put(struct printer *pr, const char *s, size_t n)
{
	if (n > 0 && fwrite(s, 1, n, pr->f) != n)
		pr->ok = false;
}

static void put_spaces(struct printer *pr, size_t n)
{
	static const char spaces[] = "                                ";
	while (n > 0) {
		size_t k = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;
		put(pr, spaces, k);
		n -= k;
	}
}

static void put_text(struct printer *pr, const struct deft_buf *b,
                     size_t level)
{
	const char *s = b->data, *end = b->data + b->len;
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t line = nl ? (size_t)(nl - s) + 1 : (size_t)(end - s);
		if (pr->line_start)
			put_spaces(pr, 4 * level);
		put(pr, s, line);
		pr->line_start = s[line - 1] == '\n';
		s += line;
	}
}

bool deft_held_print(FILE *f, const struct deft_held *h)
{
	/* Blocks nest as deep as the tests did: a stack, not recursion. */
	size_t cap = 16, level = 0;
	const struct deft_piece **next = deft_xcalloc(cap, sizeof(*next));
	struct printer pr = {f, true, true};
	next[0] = h->first;
	for (;;) {
		const struct deft_piece *p = next[level];
		if (p == NULL) {
			if (!pr.line_start)
				put(&pr, "\n", 1);
			pr.line_start = true;
			if (level-- == 0)
				break;
			continue;
		}
		next[level] = p->next;
		if (!p->block) {
			put_text(&pr, &p->text, level);
			continue;
		}
		if (p->text.len > 0) {
			put_spaces(&pr, pr.line_start ? 4 * (level + 1) : 4);
			pr.line_start = false;
			put_text(&pr, &p->text, 0);
		}
		if (++level == cap) {
			next = deft_xreallocarray(next, cap *= 2, sizeof(*next));
		}
		next[level] = p->inner.first;
	}
	deft_free(next);
	return pr.ok;
}

void deft_held_free(struct deft_held *h)
{
	struct deft_piece *p = h->first;
	while (p) {
		struct deft_piece *next = p->next;
		if (p->inner.first) {
			/* Splices the block's pieces in: no recursion. */
			p->inner.last->next = next;
			next = p->inner.first;
		}
		deft_buf_free(&p->text);
		deft_free(p);
		p = next;
	}
	*h = (struct deft_held)DEFT_HELD_INIT;
}
