// After the down scripts of a revert ran: did they restore the schema the migrations' apply
// found? (README "How migrations run".)
#pragma once

#include <string>
#include <vector>

namespace pgm {

struct RevertedStep {
  std::string version;
  std::string name;
};

// For each migration of `batch` (reverted by this call, like every version in `all_reverted`),
// compares the live schema with the snapshot taken before the transaction that applied it,
// limited to the objects that apply changed. Returns, per migration of `batch`, the jsonb text
// for its history row's detail ("" when the revert restored everything or cannot be checked),
// and raises one WARNING naming the leftover objects.
std::vector<std::string> check_revert_leftovers(const std::vector<RevertedStep>& batch,
                                                const std::vector<std::string>& all_reverted);

}  // namespace pgm
