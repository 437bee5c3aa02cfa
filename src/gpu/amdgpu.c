/* SPDX-License-Identifier: MIT */
#include "gpu/amdgpu.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/macro.h"

/* Each file we read holds one short value; 4 KiB is the sysfs page size and so the most a sysfs
 * attribute can return. */
#define ATTR_MAX_BYTES 4096

/* hwmon devices considered per card; amdgpu registers one. */
#define HWMONS_MAX 16

/* "card" + 9 digits + "/device/hwmon/hwmon" + 9 digits + "/temp1_input" fits easily. */
#define CARD_PATH_MAX 96

struct card_text {
    char *vendor, *busy_pct, *vram_total, *vram_used, *unique_id, *product_name, *temp_millic;
};

static void card_text_done(struct card_text *t)
{
    free(t->vendor);
    free(t->busy_pct);
    free(t->vram_total);
    free(t->vram_used);
    free(t->unique_id);
    free(t->product_name);
    free(t->temp_millic);
}

static int cmp_unsigned(const void *a, const void *b)
{
    unsigned x = *(const unsigned *) a, y = *(const unsigned *) b;

    return x < y ? -1 : x > y;
}

/* Lists the entries of dir_fd (borrowed) named prefix<N> into numbers, sorted ascending, at most
 * max. Returns the count or -errno. */
static int list_numbered(int dir_fd, const char *prefix, unsigned *numbers, size_t max)
{
    _cleanup_close_ int fd = -EBADF;
    struct dirent *de;
    size_t n = 0;
    DIR *d;

    /* fdopendir() takes the fd over, so hand it a duplicate and keep dir_fd usable for openat. */
    fd = fcntl(dir_fd, F_DUPFD_CLOEXEC, 3);
    if (fd < 0)
        return negative_errno();
    d = fdopendir(fd);
    if (!d)
        return negative_errno();
    TAKE_FD(fd);

    for (;;) {
        unsigned k;

        de = readdir(d);
        if (!de)
            break;
        if (amdgpu_parse_numbered_name(de->d_name, prefix, &k) < 0)
            continue;
        if (n >= max) {
            log_debug("amdgpu: more than %zu %s entries, ignoring the rest", max, prefix);
            break;
        }
        numbers[n++] = k;
    }
    (void) closedir(d);

    qsort(numbers, n, sizeof(numbers[0]), cmp_unsigned);
    return (int) n;
}

/* Reads one attribute below dir_fd into *ret (NULL when it cannot be read: absent attributes are
 * normal, e.g. unique_id on consumer cards). Returns 0 or -ENOMEM; other errors only log. */
static int read_attr(int dir_fd, const char *path, char **ret)
{
    char *buf = NULL;
    int r;

    r = read_full_virtual_at(dir_fd, path, ATTR_MAX_BYTES, &buf, NULL);
    if (r == -ENOMEM)
        return r;
    if (r < 0) {
        if (r != -ENOENT)
            log_debug_errno(r, "amdgpu: cannot read %s: %m", path);
        buf = NULL;
    }
    *ret = buf;
    return 0;
}

/* Finds the first hwmon device of the card (lowest number) with a readable temp1_input. */
static int read_temperature(int drm_fd, unsigned card, char **ret)
{
    char path[CARD_PATH_MAX];
    unsigned hwmons[HWMONS_MAX];
    _cleanup_close_ int fd = -EBADF;
    int n, r;

    *ret = NULL;
    (void) snprintf(path, sizeof(path), "card%u/device/hwmon", card);
    fd = open_at_root(drm_fd, path, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return fd == -ENOMEM ? fd : 0;
    n = list_numbered(fd, "hwmon", hwmons, ELEMENTSOF(hwmons));
    if (n < 0)
        return n == -ENOMEM ? n : 0;

    for (int i = 0; i < n; i++) {
        (void) snprintf(path, sizeof(path), "hwmon%u/temp1_input", hwmons[i]);
        r = read_attr(fd, path, ret);
        if (r < 0)
            return r;
        if (*ret)
            break;
    }
    return 0;
}

/* Reads one card. Returns 0 with *ret filled, -ENODEV when it is not an AMD card, -ENOMEM. */
static int read_card(int drm_fd, unsigned card, struct hr_gpu *ret)
{
    _cleanup_(card_text_done) struct card_text t = { 0 };

    const struct {
        const char *name;
        char **dst;
    } attrs[] = {
        { "gpu_busy_percent", &t.busy_pct },    { "mem_info_vram_total", &t.vram_total },
        { "mem_info_vram_used", &t.vram_used }, { "unique_id", &t.unique_id },
        { "product_name", &t.product_name },
    };

    char path[CARD_PATH_MAX];
    struct amdgpu_card_files f;
    unsigned vendor;
    int r;

    /* Check the vendor first so that other GPUs cost one read. */
    (void) snprintf(path, sizeof(path), "card%u/device/vendor", card);
    r = read_attr(drm_fd, path, &t.vendor);
    if (r < 0)
        return r;
    if (!t.vendor || amdgpu_parse_pci_id(t.vendor, strlen(t.vendor), &vendor) < 0 ||
        vendor != AMDGPU_PCI_VENDOR)
        return -ENODEV;

    for (size_t i = 0; i < ELEMENTSOF(attrs); i++) {
        (void) snprintf(path, sizeof(path), "card%u/device/%s", card, attrs[i].name);
        r = read_attr(drm_fd, path, attrs[i].dst);
        if (r < 0)
            return r;
    }
    r = read_temperature(drm_fd, card, &t.temp_millic);
    if (r < 0)
        return r;

    f = (struct amdgpu_card_files){
        .vendor = t.vendor,
        .busy_pct = t.busy_pct,
        .vram_total = t.vram_total,
        .vram_used = t.vram_used,
        .unique_id = t.unique_id,
        .product_name = t.product_name,
        .temp_millic = t.temp_millic,
    };
    return amdgpu_parse_card(&f, ret);
}

int amdgpu_sample(int root_fd, struct hr_gpu *gpus, unsigned max)
{
    _cleanup_close_ int drm_fd = -EBADF;
    unsigned cards[AMDGPU_CARDS_MAX];
    unsigned n = 0;
    int n_cards;

    if (max == 0)
        return 0;

    drm_fd = open_at_root(root_fd, "sys/class/drm", O_RDONLY | O_DIRECTORY);
    if (drm_fd < 0) {
        log_debug_errno(drm_fd, "amdgpu: cannot open sys/class/drm: %m");
        return 0;
    }
    n_cards = list_numbered(drm_fd, "card", cards, ELEMENTSOF(cards));
    if (n_cards < 0) {
        log_debug_errno(n_cards, "amdgpu: cannot list sys/class/drm: %m");
        return 0;
    }

    for (int i = 0; i < n_cards && n < max; i++) {
        int r = read_card(drm_fd, cards[i], &gpus[n]);

        if (r == -ENODEV)
            continue;
        if (r < 0) {
            log_debug_errno(r, "amdgpu: cannot read card%u: %m", cards[i]);
            continue;
        }
        n++;
    }
    return (int) n;
}
