/* The two date formats requests are signed with, from seconds since the epoch (UTC),
 * locale-independent. */
#ifndef ACS_DATES_H
#define ACS_DATES_H

void acs_fmt_iso8601(long long now, char out[32]);   /* 2026-01-02T03:04:05Z (RPC, V3) */
void acs_fmt_http_date(long long now, char out[40]); /* Fri, 02 Jan 2026 03:04:05 GMT (ROA) */

#endif
