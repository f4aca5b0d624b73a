/*
 * tree.c - open tests by id, for the reporters (see tree.h).
 */
#include "tree.h"
#include "../harness/buf.h"

#include <stdlib.h>

const struct deft_test_end deft_orphan_end = {
	DEFT_FAIL, DEFT_CRASHED, "its parent test ended before it", 0.0,
	false};

struct deft_node *deft_tree_add(struct deft_tree *tree,
                                const struct deft_test_info *test,
                                size_t extra)
{
	struct deft_node *n = deft_xcalloc(1, sizeof(*n) + extra);
	n->id = test->id;
	n->parent = test->parent ? deft_tree_find(tree, test->parent) : NULL;
	n->depth = n->parent ? n->parent->depth + 1 : 0;
	n->name = deft_xstrdup(test->name);
	n->next = tree->open;
	tree->open = n;
	return n;
}

struct deft_node *deft_tree_find(struct deft_tree *tree, unsigned id)
{
	for (struct deft_node *n = tree->open; n; n = n->next)
		if (n->id == id)
			return n;
	return NULL;
}

struct deft_node *deft_tree_open_child(struct deft_tree *tree,
                                       const struct deft_node *parent)
{
	for (struct deft_node *n = tree->open; n; n = n->next)
		if (n->parent == parent)
			return n;
	return NULL;
}

void deft_tree_remove(struct deft_tree *tree, struct deft_node *node)
{
	for (struct deft_node **p = &tree->open; *p; p = &(*p)->next)
		if (*p == node) {
			*p = node->next;
			break;
		}
	free(node->name);
	free(node);
}

const char *deft_ending_word(enum deft_ending ending)
{
	switch (ending) {
	case DEFT_ENDED:
		return NULL;
	case DEFT_CRASHED:
		return "crashed";
	case DEFT_TIMED_OUT:
		return "timed out";
	case DEFT_INTERRUPTED:
		return "interrupted";
	}
	return "ended abnormally";
}
