// archetype/estimate/tabular.hpp — performance estimation by table look-up: replaying NAS benchmarks.
//
// Contract: a tabular_benchmark<D, R> holds one row of named numbers for every genotype of a space of
// D decisions with R alternatives each (R^D rows, row = mixed-radix index, first decision most
// significant). load_nb201_table reads the NAS-Bench-201 CSV (columns arch, cellstr, then numbers such
// as cifar10-test, cifar10-val, cifar100-*, imagenet-*; rows keyed by the NB201 cell string, see
// space/nas_bench_201.hpp); every column but cellstr becomes a column of the table (arch included).
// load_nb_macro_table reads the NAS-Bench-Macro JSON object keyed by 8-digit strings (see
// space/nas_bench_macro.hpp) with the numeric fields mean_acc, std, params and flops. Both insist on
// exactly one row per genotype: a missing column or field, a malformed number, key or cell string, a
// duplicate row and a missing row are archetype::errors naming the file, the line or key and the fix.
// table_replay is an evaluator: its table_estimate holds the named columns as objectives (in order)
// and every column as a metric (e.g. select on cifar10-val, report cifar10-test); the search driver
// takes it as an evaluation. Look-ups are O(1).
#pragma once

#include <algorithm>
#include <array>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "archetype/core/atomic_file.hpp"
#include "archetype/io/json.hpp"
#include "archetype/space/nas_bench_201.hpp"
#include "archetype/space/nas_bench_macro.hpp"

namespace archetype {

template <std::size_t Decisions, std::size_t Radix>
class tabular_benchmark {
public:
    using genotype = std::array<std::uint16_t, Decisions>;
    static constexpr std::size_t rows = [] {
        std::size_t n = 1;
        for (std::size_t i = 0; i < Decisions; ++i) n *= Radix;
        return n;
    }();

    tabular_benchmark(std::string source, std::vector<std::string> columns)
        : source_(std::move(source)), columns_(std::move(columns)), values_(rows * columns_.size(), 0.0),
          filled_(rows, false) {}

    const std::string& source() const { return source_; }
    const std::vector<std::string>& columns() const { return columns_; }

    // Position of a column; an unknown name is an error listing the columns.
    std::size_t column(std::string_view name) const {
        for (std::size_t c = 0; c < columns_.size(); ++c)
            if (columns_[c] == name) return c;
        std::string known;
        for (const auto& c : columns_) known += (known.empty() ? "" : ", ") + c;
        throw error("benchmark table " + source_ + ": no column \"" + std::string(name) + "\"; it has " + known);
    }

    static std::size_t row_of(const genotype& g) {
        std::size_t r = 0;
        for (std::size_t i = 0; i < Decisions; ++i) {
            if (g[i] >= Radix)
                throw error("benchmark table: decision " + std::to_string(i) + " has value " + std::to_string(g[i]) +
                            " but allows 0.." + std::to_string(Radix - 1));
            r = r * Radix + g[i];
        }
        return r;
    }
    static genotype genotype_of(std::size_t row) {
        genotype g{};
        for (std::size_t i = Decisions; i-- > 0; row /= Radix) g[i] = std::uint16_t(row % Radix);
        return g;
    }

    double value(const genotype& g, std::size_t column) const { return values_[row_of(g) * columns_.size() + column]; }
    double value(const genotype& g, std::string_view name) const { return value(g, column(name)); }

    // Stores a row; `where` names its place in the source for the duplicate error.
    void set_row(const genotype& g, const std::vector<double>& values, const std::string& where) {
        const std::size_t r = row_of(g);
        if (filled_[r]) throw error("benchmark table " + source_ + ": " + where + " repeats a genotype given before");
        filled_[r] = true;
        std::copy(values.begin(), values.end(), values_.begin() + std::ptrdiff_t(r * columns_.size()));
    }
    // Throws when a genotype has no row; `describe` names the first missing one.
    template <class Describe>
    void check_complete(Describe describe) const {
        std::size_t missing = 0, first = rows;
        for (std::size_t r = 0; r < rows; ++r)
            if (!filled_[r]) ++missing, first = std::min(first, r);
        if (missing)
            throw error("benchmark table " + source_ + ": " + std::to_string(missing) + " of " + std::to_string(rows) +
                        " genotypes have no row (e.g. " + describe(genotype_of(first)) +
                        "); use the complete table");
    }

private:
    std::string source_;
    std::vector<std::string> columns_;
    std::vector<double> values_;  // row-major
    std::vector<bool> filled_;
};

using nb201_table = tabular_benchmark<6, 5>;
using nb_macro_table = tabular_benchmark<8, 3>;

namespace detail {
inline std::string table_message(const error& e) {  // e's message without its "archetype: "
    const std::string what = e.what(), prefix = "archetype: ";
    return what.rfind(prefix, 0) == 0 ? what.substr(prefix.size()) : what;
}
inline std::vector<std::string_view> split_csv_line(std::string_view line) {
    std::vector<std::string_view> fields;
    for (std::size_t p = 0;;) {
        const std::size_t comma = line.find(',', p);
        fields.push_back(line.substr(p, comma == std::string_view::npos ? std::string_view::npos : comma - p));
        if (comma == std::string_view::npos) return fields;
        p = comma + 1;
    }
}
}  // namespace detail

inline nb201_table load_nb201_table(const std::filesystem::path& csv) {
    const auto bytes = read_file(csv, "NAS-Bench-201 table");
    std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    const std::string src = csv.string();
    auto next_line = [&] {
        const std::size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        return line;
    };
    const auto header = detail::split_csv_line(next_line());
    std::size_t cell_col = header.size();
    std::vector<std::string> columns;
    for (std::size_t c = 0; c < header.size(); ++c) {
        if (header[c] == "cellstr")
            cell_col = c;
        else
            columns.emplace_back(header[c]);
    }
    if (cell_col == header.size())
        throw error("NAS-Bench-201 table " + src + ": the header has no \"cellstr\" column; expected arch,cellstr,"
                    "cifar10-test,cifar10-val,... as exported from NAS-Bench-201");
    nb201_table table(src, columns);
    for (const char* needed : {"cifar10-test", "cifar10-val"}) (void)table.column(needed);
    std::vector<double> values(columns.size());
    for (std::size_t line_no = 2; !text.empty(); ++line_no) {
        const std::string_view line = next_line();
        if (line.empty()) continue;
        const std::string where = "line " + std::to_string(line_no);
        const auto fields = detail::split_csv_line(line);
        if (fields.size() != header.size())
            throw error("NAS-Bench-201 table " + src + ": " + where + " has " + std::to_string(fields.size()) +
                        " fields but the header has " + std::to_string(header.size()));
        nb201_genotype g{};
        try {
            g = parse_nb201_string(fields[cell_col]);
        } catch (const error& e) {
            throw error("NAS-Bench-201 table " + src + ": " + where + ": " + detail::table_message(e));
        }
        for (std::size_t c = 0, k = 0; c < fields.size(); ++c) {
            if (c == cell_col) continue;
            const auto f = fields[c];
            const auto r = std::from_chars(f.data(), f.data() + f.size(), values[k]);
            if (r.ec != std::errc{} || r.ptr != f.data() + f.size())
                throw error("NAS-Bench-201 table " + src + ": " + where + ", column " + columns[k] + ": \"" +
                            std::string(f) + "\" is not a number");
            ++k;
        }
        table.set_row(g, values, where);
    }
    table.check_complete([](const nb201_genotype& g) { return to_nb201_string(g); });
    return table;
}

inline nb_macro_table load_nb_macro_table(const std::filesystem::path& path) {
    const json doc = read_json_file(path);
    const std::string src = path.string();
    if (!doc.is_object())
        throw error("NAS-Bench-Macro table " + src + ": expected an object keyed by 8-digit architecture strings, got " +
                    doc.type_name());
    static const std::vector<std::string> fields{"mean_acc", "std", "params", "flops"};
    nb_macro_table table(src, fields);
    std::vector<double> values(fields.size());
    for (const auto& [key, row] : doc.as_object()) {
        nbm_genotype g{};
        try {
            g = parse_nbm_key(key);
        } catch (const error& e) {
            throw error("NAS-Bench-Macro table " + src + ": " + detail::table_message(e));
        }
        for (std::size_t k = 0; k < fields.size(); ++k) {
            const json* v = row.is_object() ? row.find(fields[k]) : nullptr;
            if (!v || !v->is_number())
                throw error("NAS-Bench-Macro table " + src + ": entry \"" + key + "\" has no number \"" + fields[k] +
                            "\"; each entry needs mean_acc, std, params and flops");
            values[k] = v->as_number();
        }
        table.set_row(g, values, "entry \"" + key + "\"");
    }
    table.check_complete([](const nbm_genotype& g) { return "\"" + to_nbm_key(g) + "\""; });
    return table;
}

// What a look-up gives: objective values and metrics by name (search/driver.hpp reads it as an
// evaluation, feasible).
struct table_estimate {
    std::vector<double> objectives;
    std::map<std::string, double> metrics;
};

// An evaluator that looks genotypes up in a table: objectives are the named columns, every column
// is a metric. The table must outlive the evaluator.
template <class Table>
class table_replay {
public:
    table_replay(const Table& t, const std::vector<std::string>& objectives) : t_(&t) {
        if (objectives.empty()) throw error("table_replay: no objective columns; name at least one, e.g. \"cifar10-val\"");
        for (const auto& name : objectives) objectives_.push_back(t.column(name));
    }
    table_estimate operator()(const typename Table::genotype& g) const {
        table_estimate e;
        for (std::size_t c : objectives_) e.objectives.push_back(t_->value(g, c));
        for (std::size_t c = 0; c < t_->columns().size(); ++c) e.metrics.emplace(t_->columns()[c], t_->value(g, c));
        return e;
    }

private:
    const Table* t_;
    std::vector<std::size_t> objectives_;
};

}  // namespace archetype
