/* SPDX-License-Identifier: MIT */
/* The one function the daemon module exports (see serve-module.h). The module is compiled with
 * hidden visibility and linked with serve-module.sym, which keeps every other symbol local. */

#include "daemon/serve-module.h"

#include "daemon/serve.h"

_Static_assert(__builtin_types_compatible_p(typeof(&headroom_serve_main_v1), serve_module_entry_fn),
               "the exported entry point must have the type the binary calls it through");

__attribute__((visibility("default"))) int headroom_serve_main_v1(int argc, char **argv)
{
    return serve_main(argc, argv);
}
