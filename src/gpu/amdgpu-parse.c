/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <string.h>

#include "basic/macro.h"
#include "basic/parse-util.h"
#include "gpu/amdgpu.h"
#include "gpu/gpu-util.h"

/* The longest number a one-value file can legitimately hold: 20 digits of a uint64_t, or a sign
 * and 19 digits. Anything longer is malformed, which keeps the copy below bounded. */
#define NUMBER_TEXT_MAX 21

/* Trims the sysfs value to its content: the kernel ends every value with '\n', and some attributes
 * pad with spaces. Leading whitespace is not produced by any attribute we read and is rejected by
 * the number parsers. Copies into out (capacity NUMBER_TEXT_MAX + 1). */
static int number_text(const char *buf, size_t n, char out[static NUMBER_TEXT_MAX + 1])
{
    size_t len;

    if (!buf)
        return -EBADMSG;
    len = strnlen(buf, n);
    while (len > 0 && isspace((unsigned char) buf[len - 1]))
        len--;
    if (len == 0 || len > NUMBER_TEXT_MAX)
        return -EBADMSG;
    memcpy(out, buf, len);
    out[len] = '\0';
    return 0;
}

int amdgpu_parse_u64(const char *buf, size_t n, uint64_t *ret)
{
    char text[NUMBER_TEXT_MAX + 1];
    uint64_t v;
    int r;

    r = number_text(buf, n, text);
    if (r < 0)
        return r;
    r = safe_atou64(text, &v);
    if (r == -ERANGE)
        return r;
    if (r < 0)
        return -EBADMSG;
    *ret = v;
    return 0;
}

static int parse_i64(const char *buf, size_t n, int64_t *ret)
{
    char text[NUMBER_TEXT_MAX + 1];
    int64_t v;
    int r;

    r = number_text(buf, n, text);
    if (r < 0)
        return r;
    r = safe_atoi64(text, &v);
    if (r == -ERANGE)
        return r;
    if (r < 0)
        return -EBADMSG;
    *ret = v;
    return 0;
}

int amdgpu_parse_pci_id(const char *buf, size_t n, unsigned *ret)
{
    char text[NUMBER_TEXT_MAX + 1];
    const char *p;
    unsigned v = 0;
    int r;

    r = number_text(buf, n, text);
    if (r < 0)
        return r;
    p = text;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
        p += 2;
    /* PCI vendor and device ids are 16 bits: at most four hex digits. */
    if (*p == '\0' || strlen(p) > 4)
        return -EBADMSG;
    for (; *p; p++) {
        unsigned char c = (unsigned char) *p;

        if (!isxdigit(c))
            return -EBADMSG;
        v = v * 16 + (unsigned) (isdigit(c) ? c - '0' : tolower(c) - 'a' + 10);
    }
    *ret = v;
    return 0;
}

int amdgpu_parse_numbered_name(const char *name, const char *prefix, unsigned *ret)
{
    size_t plen, len;
    unsigned v = 0;

    if (!name || !prefix)
        return -EINVAL;
    plen = strlen(prefix);
    if (strncmp(name, prefix, plen) != 0)
        return -EINVAL;
    name += plen;
    len = strlen(name);
    /* Nine digits cannot overflow an unsigned; the kernel numbers cards and hwmons from 0. */
    if (len == 0 || len > 9)
        return -EINVAL;
    for (const char *p = name; *p; p++) {
        if (!isdigit((unsigned char) *p))
            return -EINVAL;
        v = v * 10 + (unsigned) (*p - '0');
    }
    *ret = v;
    return 0;
}

static const char *text_or_null(const char *s)
{
    if (!s)
        return NULL;
    while (isspace((unsigned char) *s))
        s++;
    return *s ? s : NULL;
}

int amdgpu_parse_card(const struct amdgpu_card_files *f, struct hr_gpu *ret)
{
    struct hr_gpu g = { .vendor = "amd" };
    unsigned vendor;
    uint64_t u;
    int64_t milli;
    const char *s;

    if (!f || !f->vendor)
        return -ENODEV;
    if (amdgpu_parse_pci_id(f->vendor, strlen(f->vendor), &vendor) < 0)
        return -ENODEV;
    if (vendor != AMDGPU_PCI_VENDOR)
        return -ENODEV;

    /* product_name only exists on server boards with a FRU EEPROM, and may be empty there. */
    s = text_or_null(f->product_name);
    if (s)
        (void) gpu_copy_text(g.name, sizeof(g.name), s, strlen(s));
    else
        (void) gpu_copy_text(g.name, sizeof(g.name), "AMD GPU", SIZE_MAX);

    s = text_or_null(f->unique_id);
    if (s)
        (void) gpu_copy_text(g.uuid, sizeof(g.uuid), s, strlen(s));

    /* gpu_busy_percent is a percentage by definition; anything above 100 is a broken read. */
    if (f->busy_pct && amdgpu_parse_u64(f->busy_pct, strlen(f->busy_pct), &u) >= 0 && u <= 100) {
        g.has_util = true;
        g.util_pct = (double) u;
    }

    if (f->vram_total && amdgpu_parse_u64(f->vram_total, strlen(f->vram_total), &u) >= 0)
        g.vram_total_bytes = u;
    if (f->vram_used && amdgpu_parse_u64(f->vram_used, strlen(f->vram_used), &u) >= 0)
        g.vram_used_bytes = u;

    /* hwmon temperatures are millidegrees Celsius (Documentation/hwmon/sysfs-interface.rst).
     * Values outside -273 °C .. 1000 °C are sensor faults, not temperatures. Round to nearest. */
    if (f->temp_millic && parse_i64(f->temp_millic, strlen(f->temp_millic), &milli) >= 0 &&
        milli >= -273000 && milli <= 1000000) {
        g.has_temperature = true;
        g.temperature_c = (int) (milli >= 0 ? (milli + 500) / 1000 : (milli - 500) / 1000);
    }

    *ret = g;
    return 0;
}
