/* SPDX-License-Identifier: MIT */
#pragma once

/* libcurl, loaded with dlopen() the first time a client command needs it. The daemon and the
 * client are one binary; linking libcurl would map it and its ~20 dependencies (OpenSSL, Kerberos,
 * LDAP, SSH...) into the daemon too, about 3 MiB of resident memory it never uses. Calls go
 * through the sym_ pointers below; http-client.c redirects the curl_* names to them. */

/* The gcc type-checking wrappers are macros named like the functions; calls go through pointers. */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>

extern CURLcode (*sym_curl_global_init)(long flags);
extern void (*sym_curl_global_cleanup)(void);
extern CURL *(*sym_curl_easy_init)(void);
extern void (*sym_curl_easy_cleanup)(CURL *c);
extern CURLcode (*sym_curl_easy_setopt)(CURL *c, CURLoption option, ...);
extern CURLcode (*sym_curl_easy_getinfo)(CURL *c, CURLINFO info, ...);
extern CURLcode (*sym_curl_easy_perform)(CURL *c);
extern const char *(*sym_curl_easy_strerror)(CURLcode code);
extern struct curl_slist *(*sym_curl_slist_append)(struct curl_slist *l, const char *s);
extern void (*sym_curl_slist_free_all)(struct curl_slist *l);

/* Loads libcurl.so.4 and resolves every symbol above. Idempotent. Returns 0, or -ENOENT when the
 * library or a symbol is missing (the message for the user is in dl_error, if not NULL). */
int curl_dl_load(const char **ret_error);
