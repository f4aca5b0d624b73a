/*
 * report_file.h - the file a report is written into, atomically.
 */
#ifndef DEFT_REPORT_FILE_H
#define DEFT_REPORT_FILE_H

#include <stdbool.h>
#include <stdio.h>

struct deft_report_file {
	char *path;             /* absolute, its links followed */
	char *tmp;              /* renamed over path; NULL: copied into it */
	bool stream;            /* path is no regular file: copy into it */
	FILE *out;              /* where the report is written */
};

/* Makes the file a report for path is written into (and the directories
 * missing above path): false, saying why on stderr after "deft: flag: ",
 * when it cannot; f then holds nothing. */
bool deft_report_file_open(struct deft_report_file *f, const char *flag,
                           const char *path);
/* Puts the report in place: renamed over path, or copied into it; false,
 * saying why, when that or the writing before (written false) failed,
 * and then nothing is left behind.  Frees what f holds. */
bool deft_report_file_close(struct deft_report_file *f, const char *flag,
                            bool written);
/* In a process forked from the runner: the file is the runner's, and is
 * neither flushed nor closed here. */
void deft_report_file_forked(struct deft_report_file *f);
/* Removes the files of the reports not put in place yet, for a process
 * that dies before it can finish them.  Async-signal-safe. */
void deft_report_files_abandon(void);
#endif
