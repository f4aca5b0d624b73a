/*
 * held.h - what a reporter holds back of a test until it ends, to be
 * printed under its parent's: text, and the blocks of subtests that
 * ended, each to be indented one level more than what holds it.
 *
 * A block moves into its parent's list as it is and is indented only
 * when the top-level test is printed, so that printing costs the size of
 * what is printed however deep tests nest (indenting each block into its
 * parent as it ended cost that size times the depth).
 */
#ifndef DEFT_HELD_H
#define DEFT_HELD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "../harness/buf.h"

struct deft_piece;

struct deft_held {
	struct deft_piece *first, *last;
};

#define DEFT_HELD_INIT {NULL, NULL}

/* Appends text: at print time each of its lines starts with four spaces
 * a level, and a line it continues is continued as it is. */
void deft_held_add(struct deft_held *h, const char *text, size_t n);

/* Moves inner into h as one block a level deeper, headed by head (taken;
 * may be empty): the head starts with the block's indent, or four spaces
 * only when it follows part of a line; a block ends with a newline. */
void deft_held_add_block(struct deft_held *h, struct deft_buf *head,
                         struct deft_held *inner);

/* Moves everything of from to the end of h. */
void deft_held_move(struct deft_held *h, struct deft_held *from);

/* Prints h at level 0 (ended by a newline if it has text); false if f
 * took less than was written to it. */
bool deft_held_print(FILE *f, const struct deft_held *h);

void deft_held_free(struct deft_held *h);
#endif
