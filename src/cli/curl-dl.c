/* SPDX-License-Identifier: MIT */
#include "cli/curl-dl.h"

#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>

#include "basic/macro.h"

/* The SONAME of libcurl's ABI 4, which every libcurl since 7.16 keeps. */
#define LIBCURL_SONAME "libcurl.so.4"

CURLcode (*sym_curl_global_init)(long flags);
void (*sym_curl_global_cleanup)(void);
CURL *(*sym_curl_easy_init)(void);
void (*sym_curl_easy_cleanup)(CURL *c);
CURLcode (*sym_curl_easy_setopt)(CURL *c, CURLoption option, ...);
CURLcode (*sym_curl_easy_getinfo)(CURL *c, CURLINFO info, ...);
CURLcode (*sym_curl_easy_perform)(CURL *c);
const char *(*sym_curl_easy_strerror)(CURLcode code);
struct curl_slist *(*sym_curl_slist_append)(struct curl_slist *l, const char *s);
void (*sym_curl_slist_free_all)(struct curl_slist *l);

int curl_dl_load(const char **ret_error)
{
    static void *handle;
    static const struct {
        const char *name;
        void **sym;
    } table[] = {
        { "curl_global_init", (void **) &sym_curl_global_init },
        { "curl_global_cleanup", (void **) &sym_curl_global_cleanup },
        { "curl_easy_init", (void **) &sym_curl_easy_init },
        { "curl_easy_cleanup", (void **) &sym_curl_easy_cleanup },
        { "curl_easy_setopt", (void **) &sym_curl_easy_setopt },
        { "curl_easy_getinfo", (void **) &sym_curl_easy_getinfo },
        { "curl_easy_perform", (void **) &sym_curl_easy_perform },
        { "curl_easy_strerror", (void **) &sym_curl_easy_strerror },
        { "curl_slist_append", (void **) &sym_curl_slist_append },
        { "curl_slist_free_all", (void **) &sym_curl_slist_free_all },
    };

    if (handle)
        return 0;
    void *h = dlopen(LIBCURL_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        if (ret_error)
            *ret_error = "cannot load " LIBCURL_SONAME " (install the libcurl4 package)";
        return -ENOENT;
    }
    for (size_t i = 0; i < ELEMENTSOF(table); i++) {
        *table[i].sym = dlsym(h, table[i].name);
        if (!*table[i].sym) {
            if (ret_error)
                *ret_error = LIBCURL_SONAME " lacks a function headroom needs";
            (void) dlclose(h);
            return -ENOENT;
        }
    }
    handle = h;
    return 0;
}
