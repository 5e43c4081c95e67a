/**
 * Bookings (算力预约): the booking model and its validation with time zones and recurrence
 * (booking.ts, zoned-time.ts); admission without overbooking, the capacity query and the windows
 * the scheduler keeps (admission.ts), all over the scheduler's availability profile.
 */
export * from './booking.js';
export * from './zoned-time.js';
export * from './admission.js';
export * from './usage.js';
