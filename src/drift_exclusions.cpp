// Drift: the exclusions (migrate.drift_exclusions, README "Exclusions") as capture reads them,
// cached per backend, and what capture watches at all.
#include "drift_internal.hpp"

extern "C" {
#include "commands/trigger.h"
#include "utils/inval.h"
}

namespace pgm::drift {

// Inside an OwnerScope (whose GUC nest level restores it): capture's statements run with
// their generic plans; a custom plan per DDL statement would cost more than the insert.
void use_generic_plans() {
  pg::call([] {
    (void)set_config_option("plan_cache_mode", "force_generic_plan", PGC_USERSET, PGC_S_SESSION,
                            GUC_ACTION_SAVE, true, 0, false);
  });
}

namespace {

// The exclusions are read once per backend and kept until migrate.drift_exclusions changes:
// its statement trigger sends a relcache invalidation (to this backend at the next command, to
// the others at commit), whose callback drops the cached copy. Saves a query per DDL.
std::vector<Exclusion>* cached_exclusions = nullptr;  // lives for the backend
bool exclusions_valid = false;
Oid exclusions_relid = InvalidOid;

}  // namespace

void exclusions_invalidated(Oid relid) noexcept {
  if (!OidIsValid(relid) || relid == exclusions_relid) exclusions_valid = false;
}

const std::vector<Exclusion>& load_exclusions(LazySpi& spi) {
  if (exclusions_valid && cached_exclusions) return *cached_exclusions;
  spi.need();
  static pg::Query q{"SELECT schema_pattern, name_pattern FROM migrate.drift_exclusions"};
  std::vector<Exclusion> out;
  uint64 n = q.run();
  for (uint64 i = 0; i < n; ++i) out.push_back({pg::text_value(i, 1), pg::text_value(i, 2)});
  pg::free_result();
  exclusions_relid = pg::call([] {
    Oid nsp = get_namespace_oid("migrate", true);
    return OidIsValid(nsp) ? get_relname_relid("drift_exclusions", nsp) : InvalidOid;
  });
  if (!cached_exclusions) cached_exclusions = new std::vector<Exclusion>();
  cached_exclusions->swap(out);
  exclusions_valid = true;
  return *cached_exclusions;
}

bool watched(const std::vector<Exclusion>& exclusions, const Scope& scope) {
  if (scope.schema && is_temp_schema(*scope.schema)) return false;
  // pg_migrate's own schema (and the schema itself) is not the user's schema: snapshots leave
  // it out, and so does capture (the deploy and monitoring grants are not drift).
  if (scope.schema && *scope.schema == kOwnSchema) return false;
  return !excluded(exclusions, scope.schema, scope.name);
}

}  // namespace pgm::drift

using namespace pgm;

// Statement trigger on migrate.drift_exclusions: tells every backend's capture to re-read it.
PGM_FUNCTION(pgm_drift_exclusions_changed) {
  if (!CALLED_AS_TRIGGER(fcinfo))
    throw Error("39P01", "migrate.drift_exclusions_changed() must be called as a trigger");
  TriggerData* trig = reinterpret_cast<TriggerData*>(fcinfo->context);
  pg::call([&] { CacheInvalidateRelcache(trig->tg_relation); });
  return PointerGetDatum(nullptr);
}

