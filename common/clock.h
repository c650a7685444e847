/*
 * The one monotonic clock every layer reads (durations, deadlines,
 * timeouts).  A test can set it: MBACKUP_CLOCK_OFFSET_MS (an integer)
 * is added to every reading, so a deadline can be made to pass at once
 * without sleeping; mb_clock_set_offset_ms() does the same in unit tests.
 */
#ifndef MB_CLOCK_H
#define MB_CLOCK_H

/* Milliseconds of CLOCK_MONOTONIC, plus the test offset. */
long long mb_now_ms(void);

/* Unit-test seam: shifts every later reading by ms. */
void mb_clock_set_offset_ms(long long ms);

#endif
