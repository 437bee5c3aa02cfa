/* SPDX-License-Identifier: MIT */
/* headroom events [-f] [--type TYPE] [--after SEQ]: the daemon's event log (GET /v1/events), one
 * line per event, or one JSON object per line with --json. The control socket answers one request
 * with one reply, so --follow polls with after= the last sequence number seen, every POLL_USEC. */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "basic/macro.h"
#include "cli/cli.h"
#include "cli/exit-codes.h"
#include "cli/format-jobs.h"
#include "cli/job-client.h"
#include "cli/job-request.h"
#include "cli/json-util.h"

#define POLL_USEC  (USEC_PER_SEC / 2)
#define PAGE_LIMIT 1000 /* the daemon's largest page */

/* Prints the events of one answer. Returns 0 or CLI_EXIT_FAILURE (out of memory). */
static int print_events(const struct cli_args *args, const json_t *answer)
{
    json_t *events = json_get(answer, "events"), *e;
    size_t i;

    json_array_foreach (events, i, e) {
        if (args->quiet)
            continue;
        if (args->json) {
            int r = job_print_json(e);
            if (r != 0)
                return r;
        } else
            format_event(stdout, e);
    }
    (void) fflush(stdout);
    return 0;
}

static int run(const struct cli_args *args)
{
    uint64_t after = args->after_seq;

    for (;;) {
        _cleanup_json_ json_t *answer = NULL;
        char path[160];
        int r;

        /* The type was checked by the parser: letters, digits, ':', '-', '_' need no escape. */
        (void) snprintf(path, sizeof(path), "/v1/events?after=%" PRIu64 "&limit=%d%s%s", after,
                        PAGE_LIMIT, args->event_type ? "&type=" : "",
                        args->event_type ? args->event_type : "");
        r = job_call_json(args, "the event log", "GET", path, NULL, &answer);
        if (r != 0)
            return r;
        if (!json_is_array(json_get(answer, "events"))) {
            cli_error("GET %s: the answer has no event list", path);
            return CLI_EXIT_FAILURE;
        }
        r = print_events(args, answer);
        if (r != 0)
            return r;

        uint64_t next = events_next_after(answer, after, PAGE_LIMIT);
        /* A full page: more are waiting, ask again at once. */
        if (json_array_size(json_get(answer, "events")) >= PAGE_LIMIT && next > after) {
            after = next;
            continue;
        }
        after = next;
        if (!args->follow)
            return CLI_EXIT_SUCCESS;
        job_sleep(POLL_USEC);
    }
}

const struct cli_command cli_command_events = {
    .name = "events",
    .synopsis = "events [-f] [--type TYPE] [--after SEQ]",
    .summary = "show what happened to tasks and jobs",
    .help = "Prints the daemon's events, oldest first, one line each: the time (UTC), the type,\n"
            "the job or task, and its figures. Types: task:started, task:active, task:stalled,\n"
            "task:high-memory, task:high-cpu, task:critical-memory, task:progress,\n"
            "task:suspended, task:resumed, task:checkpoint, task:finished, job:queued,\n"
            "job:cancelled, job:lost. With --json, each event as one JSON object per line.\n"
            "\n"
            "Options:\n"
            "  -f, --follow            go on printing new events as they come (polled every\n"
            "                          0.5s) until interrupted\n"
            "      --type TYPE         only the events of TYPE\n"
            "      --after SEQ         only the events after sequence number SEQ (each event's\n"
            "                          \"seq\"; default 0: from the oldest the daemon keeps)\n",
    .options = CLI_OPTS_CONNECTION | CLI_OPTS_OUTPUT | CLI_OPT(CLI_OPTION_FOLLOW) |
               CLI_OPT(CLI_OPTION_TYPE) | CLI_OPT(CLI_OPTION_AFTER),
    .run = run,
};
