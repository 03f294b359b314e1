// Retry delays for migrations that hit a lock timeout: exponential backoff with jitter.
// Pure C++ (no PostgreSQL header).
#pragma once

namespace pgm {

// Delay before retry number `retry` (1-based): base * 2^(retry-1), capped at max_ms, then
// scaled by a jitter factor in [0.5, 1.0] taken from `random01` in [0, 1), so sessions that
// timed out together do not retry together.
double retry_delay_ms(int retry, double base_ms, double max_ms, double random01);

}  // namespace pgm
