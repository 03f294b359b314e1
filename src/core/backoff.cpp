#include "core/backoff.hpp"

#include <algorithm>
#include <cmath>

namespace pgm {

double retry_delay_ms(int retry, double base_ms, double max_ms, double random01) {
  if (retry < 1 || base_ms <= 0) return 0;
  double exp = base_ms * std::pow(2.0, std::min(retry - 1, 30));
  double capped = std::min(exp, std::max(max_ms, base_ms));
  double jitter = 0.5 + 0.5 * std::clamp(random01, 0.0, 1.0);
  return capped * jitter;
}

}  // namespace pgm

#include "core/no_pg.hpp"
