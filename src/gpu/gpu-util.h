/* SPDX-License-Identifier: MIT */
#pragma once

/* Small helpers shared by the GPU backends, private to src/gpu. */

#include <stddef.h>

/* Copies at most n bytes of untrusted text from src (stopping at a NUL) into dst of the given
 * size, dropping leading and trailing whitespace and replacing every byte outside printable ASCII
 * by '?', so that a driver or firmware string can go into JSON and logs as it is. dst is always
 * NUL-terminated (size must be ≥ 1); longer text is cut. Returns the length written. Pure. */
size_t gpu_copy_text(char *dst, size_t size, const char *src, size_t n);
