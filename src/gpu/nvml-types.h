/* SPDX-License-Identifier: MIT */
#pragma once

/* The handful of NVML types headroom needs to call libnvidia-ml.so.1 through dlopen(). NVIDIA's
 * header is not packaged in Debian main, so these are written from the documented x86-64 ABI
 * (the NVML API reference, API version 13). The names follow the library's own spelling so that
 * they can be matched against that reference; they are typedefs only because the ABI names are.
 * The static assertions pin the layouts: a wrong stride would silently garble per-process data. */

#include <stdint.h>

/* Every NVML entry point returns one of these codes (a C enum, so an int). */
typedef int nvmlReturn_t;

enum {
    NVML_SUCCESS = 0,
    NVML_ERROR_UNINITIALIZED = 1,
    NVML_ERROR_INVALID_ARGUMENT = 2,
    NVML_ERROR_NOT_SUPPORTED = 3,
    NVML_ERROR_NO_PERMISSION = 4,
    NVML_ERROR_ALREADY_INITIALIZED = 5,
    NVML_ERROR_NOT_FOUND = 6,
    NVML_ERROR_INSUFFICIENT_SIZE = 7,
    NVML_ERROR_INSUFFICIENT_POWER = 8,
    NVML_ERROR_DRIVER_NOT_LOADED = 9,
    NVML_ERROR_TIMEOUT = 10,
    NVML_ERROR_IRQ_ISSUE = 11,
    NVML_ERROR_LIBRARY_NOT_FOUND = 12,
    NVML_ERROR_FUNCTION_NOT_FOUND = 13,
    NVML_ERROR_CORRUPTED_INFOROM = 14,
    NVML_ERROR_GPU_IS_LOST = 15,
    NVML_ERROR_RESET_REQUIRED = 16,
    NVML_ERROR_OPERATING_SYSTEM = 17,
    NVML_ERROR_LIB_RM_VERSION_MISMATCH = 18,
    NVML_ERROR_IN_USE = 19,
    NVML_ERROR_MEMORY = 20,
    NVML_ERROR_NO_DATA = 21,
    NVML_ERROR_ARGUMENT_VERSION_MISMATCH = 25,
    NVML_ERROR_UNKNOWN = 999,
};

/* Sensor selector for nvmlDeviceGetTemperature(): the GPU die. */
#define NVML_TEMPERATURE_GPU 0

/* Buffer sizes the library documents for names, UUIDs and the driver version string. */
#define NVML_DEVICE_NAME_BUFFER_SIZE           96
#define NVML_DEVICE_UUID_BUFFER_SIZE           96
#define NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE 80

/* "Not available" marker in 64-bit counters such as usedGpuMemory. */
#define NVML_VALUE_NOT_AVAILABLE_ULL (~0ULL)

/* A device handle: opaque, owned by the library, valid between init and shutdown. */
typedef struct nvmlDevice_st *nvmlDevice_t;

/* Original memory query. 'used' includes memory the driver reserves for itself. */
typedef struct {
    unsigned long long total;
    unsigned long long free;
    unsigned long long used;
} nvmlMemory_t;

/* Versioned memory query: the caller sets 'version' to the struct size with the struct version in
 * the top byte; 'used' no longer includes 'reserved'. */
typedef struct {
    unsigned int version;
    unsigned long long total;
    unsigned long long reserved;
    unsigned long long free;
    unsigned long long used;
} nvmlMemory_v2_t;

#define NVML_MEMORY_V2_VERSION ((unsigned int) (sizeof(nvmlMemory_v2_t) | (2u << 24)))

/* Percent of time over the last sample period that a kernel ran / memory was read or written. */
typedef struct {
    unsigned int gpu;
    unsigned int memory;
} nvmlUtilization_t;

/* Per-process entry filled by the unversioned nvmlDeviceGetComputeRunningProcesses(). */
typedef struct {
    unsigned int pid;
    unsigned long long usedGpuMemory;
} nvmlProcessInfo_v1_t;

/* Per-process entry filled by the _v2 and _v3 variants. The instance ids are all ones unless MIG
 * is enabled. */
typedef struct {
    unsigned int pid;
    unsigned long long usedGpuMemory;
    unsigned int gpuInstanceId;
    unsigned int computeInstanceId;
} nvmlProcessInfo_v2_t;

/* NVML ships for 64-bit targets only; these are the LP64 sizes (x86-64, aarch64, ppc64le). */
#if __SIZEOF_POINTER__ == 8
_Static_assert(sizeof(nvmlMemory_t) == 24, "nvmlMemory_t layout");
_Static_assert(sizeof(nvmlMemory_v2_t) == 40, "nvmlMemory_v2_t layout");
_Static_assert(NVML_MEMORY_V2_VERSION == 0x02000028u, "nvmlMemory_v2_t version word");
_Static_assert(sizeof(nvmlUtilization_t) == 8, "nvmlUtilization_t layout");
_Static_assert(sizeof(nvmlProcessInfo_v1_t) == 16, "nvmlProcessInfo_v1_t layout");
_Static_assert(sizeof(nvmlProcessInfo_v2_t) == 24, "nvmlProcessInfo_v2_t layout");
#endif
