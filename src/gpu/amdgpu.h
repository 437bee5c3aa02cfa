/* SPDX-License-Identifier: MIT */
#pragma once

/* AMD backend of the GPU probe, private to src/gpu. The amdgpu driver exposes its counters as
 * one-value sysfs files below /sys/class/drm/cardN/device. gpu_busy_percent and the hwmon
 * temperatures are described in https://docs.kernel.org/gpu/amdgpu/thermal.html, mem_info_*,
 * unique_id and product_name in https://docs.kernel.org/gpu/amdgpu/driver-misc.html. The parsing
 * part is pure; amdgpu_sample() does the reading. */

#include <stddef.h>
#include <stdint.h>

#include "metrics/snapshot.h"

/* PCI vendor id of AMD/ATI as shown in device/vendor. */
#define AMDGPU_PCI_VENDOR 0x1002

/* Upper bound on the drm card entries considered in one scan. */
#define AMDGPU_CARDS_MAX 64

/* The raw contents of one card's files, NUL-terminated, or NULL where the file is absent. */
struct amdgpu_card_files {
    const char *vendor;       /* device/vendor: "0x1002\n" */
    const char *busy_pct;     /* device/gpu_busy_percent: "0".."100" */
    const char *vram_total;   /* device/mem_info_vram_total: bytes */
    const char *vram_used;    /* device/mem_info_vram_used: bytes */
    const char *unique_id;    /* device/unique_id: hex serial, not on every ASIC */
    const char *product_name; /* device/product_name: from the board FRU, often absent */
    const char *temp_millic;  /* device/hwmon/hwmonM/temp1_input: millidegrees Celsius */
};

/* Parses a directory entry name made of prefix and a decimal number ("card1" with prefix "card",
 * "hwmon3" with prefix "hwmon") into the number. Anything else gives -EINVAL: that is how
 * connector entries such as "card0-DP-1" and render nodes are told apart from cards. Pure. */
int amdgpu_parse_numbered_name(const char *name, const char *prefix, unsigned *ret);

/* Parses the whole of a one-value sysfs file holding an unsigned decimal (trailing whitespace
 * allowed). Returns 0, -EBADMSG when malformed, -ERANGE on overflow. Pure. */
int amdgpu_parse_u64(const char *buf, size_t n, uint64_t *ret);

/* Parses a PCI id file such as device/vendor ("0x1002\n", the 0x is optional). Returns 0 or
 * -EBADMSG. Pure. */
int amdgpu_parse_pci_id(const char *buf, size_t n, unsigned *ret);

/* Turns one card's files into *ret (fully overwritten; vendor "amd", index 0; the caller numbers
 * it). Returns -ENODEV when the card is not an AMD device (vendor missing, malformed or other),
 * else 0. A missing or malformed metric file leaves that metric absent (has_util or
 * has_temperature false, VRAM 0) rather than failing the card. Pure, does not log. */
int amdgpu_parse_card(const struct amdgpu_card_files *f, struct hr_gpu *ret);

/* Scans <root>/sys/class/drm below root_fd (borrowed) and fills up to max entries with the AMD
 * cards in card-number order. Returns the number filled, ≥ 0: a tree without drm entries or an
 * unreadable card is simply not counted. Logs at debug only. */
int amdgpu_sample(int root_fd, struct hr_gpu *gpus, unsigned max);
