/* wordcount.c - see wordcount.h. */
#include "wordcount.h"

#include <ctype.h>
#include <string.h>

long count_words(FILE *f)
{
	long words = 0;
	int c, in_word = 0;
	while ((c = getc(f)) != EOF) {
		if (isspace(c))
			in_word = 0;
		else if (!in_word) {
			in_word = 1;
			words++;
		}
	}
	return ferror(f) ? -1 : words;
}

long count_words_in(const char *s)
{
	FILE *f = fmemopen((void *)s, strlen(s), "r");
	if (f == NULL)
		return -1;
	long n = count_words(f);
	fclose(f);
	return n;
}
