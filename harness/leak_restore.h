/*
 * leak_restore.h - putting back what a test changed and left changed,
 * as leak.c finds it.
 */
#ifndef DEFT_LEAK_RESTORE_H
#define DEFT_LEAK_RESTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct fd_id;

/* Whether the run kept a copy of standard descriptor fd (without
 * isolation: deft_leak_keep_std_fds). */
bool deft_leak_std_kept(int fd);
/* Puts back standard descriptor fd as it was (was: from the snapshot
 * before the test), with its stdio stream; false if it cannot. */
bool deft_leak_restore_std_fd(int fd, const struct fd_id *was);
/* Sets the variable of environment entry "NAME=value" (its name
 * name_len bytes) back to the entry's value, or unsets it. */
void deft_leak_restore_env(const char *entry, size_t name_len, bool set);
/* 0, or why the working directory could not be put back to dir. */
int deft_leak_restore_cwd(const char *dir);
void deft_leak_restore_umask(mode_t mask);
#endif
