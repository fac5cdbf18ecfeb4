#include "dates.h"

#include <string.h>

/* UTC calendar fields from seconds since the epoch, without gmtime_r and snprintf: those
 * cost more than signing the rest of the request. Days to civil date: H. Hinnant's algorithm
 * (proleptic Gregorian, exact for any day count). */
typedef struct {
    long long year;
    int mon, mday, hour, min, sec, wday; /* mon 1..12, wday 0 = Sunday */
} utc_fields;

static utc_fields utc_of(long long now)
{
    long long days = now / 86400, secs = now % 86400;
    if (secs < 0) {
        secs += 86400;
        days--;
    }
    utc_fields t = {.hour = (int)(secs / 3600), .min = (int)(secs / 60 % 60),
                    .sec = (int)(secs % 60), .wday = (int)((days % 7 + 11) % 7)}; /* 1970-01-01: Thu */
    long long z = days + 719468; /* days since 0000-03-01 */
    long long era = (z >= 0 ? z : z - 146096) / 146097;
    long long doe = z - era * 146097;                                      /* [0, 146096] */
    long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* [0, 365], from March */
    long long mp = (5 * doy + 2) / 153;                                    /* [0, 11] */
    t.mday = (int)(doy - (153 * mp + 2) / 5 + 1);
    t.mon = (int)(mp < 10 ? mp + 3 : mp - 9);
    t.year = yoe + era * 400 + (t.mon <= 2);
    return t;
}

/* width decimal digits of v, zero-padded; returns the end */
static char *put_digits(char *p, long long v, int width)
{
    for (int i = width - 1; i >= 0; i--, v /= 10)
        p[i] = (char)('0' + v % 10);
    return p + width;
}

void acs_fmt_iso8601(long long now, char out[32])
{
    utc_fields t = utc_of(now);
    char *p = put_digits(out, (t.year % 10000 + 10000) % 10000, 4); /* YYYY-MM-DDTHH:MM:SSZ */
    *p++ = '-';
    p = put_digits(p, t.mon, 2);
    *p++ = '-';
    p = put_digits(p, t.mday, 2);
    *p++ = 'T';
    p = put_digits(p, t.hour, 2);
    *p++ = ':';
    p = put_digits(p, t.min, 2);
    *p++ = ':';
    p = put_digits(p, t.sec, 2);
    memcpy(p, "Z", 2);
}

void acs_fmt_http_date(long long now, char out[40])
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    utc_fields t = utc_of(now); /* Www, DD Mon YYYY HH:MM:SS GMT */
    memcpy(out, days[t.wday], 3);
    memcpy(out + 3, ", ", 2);
    char *p = put_digits(out + 5, t.mday, 2);
    *p++ = ' ';
    memcpy(p, months[t.mon - 1], 3);
    p[3] = ' ';
    p = put_digits(p + 4, (t.year % 10000 + 10000) % 10000, 4);
    *p++ = ' ';
    p = put_digits(p, t.hour, 2);
    *p++ = ':';
    p = put_digits(p, t.min, 2);
    *p++ = ':';
    p = put_digits(p, t.sec, 2);
    memcpy(p, " GMT", 5);
}
