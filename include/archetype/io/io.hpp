// archetype/io/io.hpp — umbrella header of io/: weight files, JSON, genotypes as JSON, search logs,
// progress display, Pareto reports.
#pragma once

#include "archetype/io/genotype_json.hpp"
#include "archetype/io/json.hpp"
#include "archetype/io/pareto_report.hpp"
#include "archetype/io/progress.hpp"
#include "archetype/io/search_log.hpp"
#include "archetype/io/weights.hpp"
