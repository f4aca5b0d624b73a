/*
 * sanitizers.h - which sanitizer this file is built with, for gcc
 * (__SANITIZE_*__) and clang (__has_feature) alike: DEFT_ASAN, DEFT_TSAN.
 * Macros only; the self-tests include it too.
 */
#ifndef DEFT_SANITIZERS_H
#define DEFT_SANITIZERS_H

#if defined(__SANITIZE_ADDRESS__)
#define DEFT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DEFT_ASAN 1
#endif
#endif

#if defined(__SANITIZE_THREAD__)
#define DEFT_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define DEFT_TSAN 1
#endif
#endif

#endif
