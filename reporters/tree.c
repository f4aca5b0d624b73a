/*
 * tree.c - open tests by id, for the reporters (see tree.h).
 */
#include "tree.h"
#include "../harness/buf.h"

#include <stdlib.h>

const struct deft_test_end deft_orphan_end = {
	DEFT_FAIL, DEFT_CRASHED, "its parent test ended before it", 0.0,
	false};

static struct deft_node **slot_of(const struct deft_tree *tree, unsigned id)
{
	return &tree->slots[(id * 2654435761u) & (tree->nslots - 1)];
}

static void index_grow(struct deft_tree *tree)
{
	size_t old_n = tree->nslots;
	struct deft_node **old = tree->slots;
	tree->nslots = old_n ? 4 * old_n : 64;
	tree->slots = deft_xcalloc(tree->nslots, sizeof(*tree->slots));
	for (size_t i = 0; i < old_n; i++)
		while (old[i]) {
			struct deft_node *n = old[i];
			old[i] = n->same_slot;
			struct deft_node **s = slot_of(tree, n->id);
			n->same_slot = *s;
			*s = n;
		}
	deft_free(old);
}

struct deft_node *deft_tree_add(struct deft_tree *tree,
                                const struct deft_test_info *test,
                                size_t extra)
{
	struct deft_node *n = deft_xcalloc(1, sizeof(*n) + extra);
	n->id = test->id;
	n->parent = test->parent ? deft_tree_find(tree, test->parent) : NULL;
	n->depth = n->parent ? n->parent->depth + 1 : 0;
	n->name = deft_xstrdup(test->name);
	if (n->parent)
		n->parent->open_subtests++;
	n->next = tree->open;
	if (tree->open)
		tree->open->prev = n;
	tree->open = n;
	if (++tree->nopen > tree->nslots)
		index_grow(tree);
	struct deft_node **s = slot_of(tree, n->id);
	n->same_slot = *s;
	*s = n;
	return n;
}

struct deft_node *deft_tree_find(struct deft_tree *tree, unsigned id)
{
	if (tree->nslots == 0)
		return NULL;
	for (struct deft_node *n = *slot_of(tree, id); n; n = n->same_slot)
		if (n->id == id)
			return n;
	return NULL;
}

struct deft_node *deft_tree_open_child(struct deft_tree *tree,
                                       const struct deft_node *parent)
{
	if (parent->open_subtests == 0)
		return NULL;
	for (struct deft_node *n = tree->open; n; n = n->next)
		if (n->parent == parent)
			return n;
	return NULL;
}

void deft_tree_remove(struct deft_tree *tree, struct deft_node *node)
{
	if (node->open_subtests > 0)
		for (struct deft_node *n = tree->open; n; n = n->next)
			if (n->parent == node)
				n->parent = NULL;
	if (node->parent)
		node->parent->open_subtests--;
	if (node->prev)
		node->prev->next = node->next;
	else
		tree->open = node->next;
	if (node->next)
		node->next->prev = node->prev;
	for (struct deft_node **s = slot_of(tree, node->id); *s;
	     s = &(*s)->same_slot)
		if (*s == node) {
			*s = node->same_slot;
			break;
		}
	deft_free(node->name);
	deft_free(node);
	if (--tree->nopen == 0) {
		/* Empty, it holds nothing: a reporter done with its run
		 * keeps no memory but its own struct. */
		deft_free(tree->slots);
		tree->slots = NULL;
		tree->nslots = 0;
	}
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
