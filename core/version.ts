/** shoal's version, and the Redis version whose protocol and replies it follows. */
export const SHOAL_VERSION = "0.1.0";
export const REDIS_COMPAT_VERSION = "7.0.15";
