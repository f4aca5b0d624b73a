/*
 * tree.h - the tests a reporter has seen start and not yet end.
 *
 * Each file format needs the same bookkeeping: find a test by id, know
 * its parent and depth, and close subtests that are still open when their
 * parent ends (a crashed or timed-out test's process never ends them).
 * Open tests are indexed by id and listed newest first, and each counts
 * its open subtests: with thousands of parallel subtests open at once,
 * finding one, ending one and asking whether one has open subtests each
 * take the same time as with one.  Memory is what the open tests hold.
 */
#ifndef DEFT_TREE_H
#define DEFT_TREE_H

#include "report.h"

struct deft_node {
	unsigned id;
	struct deft_node *parent;       /* NULL for a top-level test */
	char *name;                     /* full name */
	int depth;                      /* 0 for a top-level test */
	struct deft_node *next;         /* the next older open test */
	struct deft_node *prev;         /* the next newer one */
	struct deft_node *same_slot;    /* in the index */
	size_t open_subtests;
	/* the reporter's own state follows, zeroed */
};

struct deft_tree {
	struct deft_node *open;         /* the newest */
	struct deft_node **slots;       /* the index: a power of two */
	size_t nslots, nopen;
};

/* Adds an open test with extra zeroed bytes of reporter state after the
 * node (get them with deft_node_data). */
struct deft_node *deft_tree_add(struct deft_tree *tree,
                                const struct deft_test_info *test,
                                size_t extra);
struct deft_node *deft_tree_find(struct deft_tree *tree, unsigned id);
/* The newest open child of parent, or NULL. */
struct deft_node *deft_tree_open_child(struct deft_tree *tree,
                                       const struct deft_node *parent);
/* Unlinks and frees the node; the caller has freed its state.  Subtests
 * still open are left without a parent. */
void deft_tree_remove(struct deft_tree *tree, struct deft_node *node);

static inline void *deft_node_data(struct deft_node *node)
{
	return node + 1;
}

/* "crashed", "timed out" or "interrupted"; NULL for DEFT_ENDED. */
const char *deft_ending_word(enum deft_ending ending);

/* What a subtest still open when its parent ends is reported as. */
extern const struct deft_test_end deft_orphan_end;
#endif
