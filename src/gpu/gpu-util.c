/* SPDX-License-Identifier: MIT */
#include "gpu/gpu-util.h"

#include <assert.h>
#include <string.h>

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

size_t gpu_copy_text(char *dst, size_t size, const char *src, size_t n)
{
    size_t start = 0, end, len;

    assert(dst);
    assert(size >= 1);

    if (!src) {
        dst[0] = '\0';
        return 0;
    }
    end = strnlen(src, n);
    while (start < end && is_blank(src[start]))
        start++;
    while (end > start && is_blank(src[end - 1]))
        end--;

    len = end - start;
    if (len > size - 1)
        len = size - 1;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) src[start + i];
        dst[i] = c >= 0x20 && c < 0x7f ? (char) c : '?';
    }
    dst[len] = '\0';
    return len;
}
