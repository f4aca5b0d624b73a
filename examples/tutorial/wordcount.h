/* wordcount.h - count the words of a stream: the code under test in the
 * README's tutorial. */
#ifndef WORDCOUNT_H
#define WORDCOUNT_H

#include <stddef.h>
#include <stdio.h>

/* Counts runs of non-space bytes in f; returns -1 on a read error. */
long count_words(FILE *f);

/* Counts the words of the string s. */
long count_words_in(const char *s);

#endif
