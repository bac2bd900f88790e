/** The process clock and RNG (defined once in core/clock.ts). */
export { systemClock, systemRng } from "../core/clock.ts";
