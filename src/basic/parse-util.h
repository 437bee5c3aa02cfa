/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basic/time-util.h"

/* All parsers here are pure: no I/O, no logging, no locale (the daemon never calls setlocale, so
 * strtod always reads '.'). They return 0 or -EINVAL/-ERANGE and write ret_* only on success. */

/* Unsigned decimal integer, whole string, no sign, no spaces. */
int safe_atou64(const char *s, uint64_t *ret);
int safe_atoi64(const char *s, int64_t *ret);
/* Finite decimal number, whole string. */
int safe_atod(const char *s, double *ret);

/* A byte size: "4096", "512M", "8G", "1.5GiB", "10GB", "2 TiB". K/M/G/T/P and KiB/MiB/GiB/TiB/PiB
 * are powers of 1024; KB/MB/GB/TB/PB are powers of 1000; B or no suffix is bytes. Case-insensitive
 * suffix. Rejects negatives, NaN, and values over 2^63. */
int parse_size(const char *s, uint64_t *ret_bytes);

/* A duration: "250ms", "5s", "2m", "1.5h", "1d", "100us"; a bare number is seconds. */
int parse_duration(const char *s, usec_t *ret_usec);

/* Formats bytes for humans, binary units with one decimal ("7.5 GiB", "512 B"). Returns buf. */
char *format_bytes(char *buf, size_t len, uint64_t bytes);

/* A task name as accepted on the wire: 1..128 bytes, printable ASCII or UTF-8 (no control
 * characters, no DEL). */
#define TASK_NAME_MAX 128
bool task_name_is_valid(const char *s);
