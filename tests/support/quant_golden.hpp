// tests/support/quant_golden.hpp — bit-exact golden cases for the quantization numerics.
//
// Reads tests/data/golden/quant/<file>.txt, written by tests/reference/generate_golden_quant.py (the script's
// docstring gives the format): a list of cases, each with configuration entries, float32 arrays stored as
// bit patterns (so NaN, ±0 and ±inf survive) and integer arrays. check_bits() compares floats bit for bit.
#pragma once

#include <doctest/doctest.h>

#include <bit>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "archetype/compress/quant_params.hpp"
#include "archetype/core/error.hpp"

namespace archetype::test {

struct quant_case {
    std::string name;
    std::map<std::string, std::string> config;
    std::map<std::string, std::vector<float>> floats;
    std::map<std::string, std::vector<std::int64_t>> ints;

    bool has(const std::string& key) const { return config.count(key) != 0; }
    const std::string& get(const std::string& key) const {
        auto it = config.find(key);
        if (it == config.end()) throw error("golden case " + name + ": no entry '" + key + "'");
        return it->second;
    }
    std::int64_t integer(const std::string& key) const { return std::stoll(get(key)); }
    float float_bits(const std::string& key) const {  // a float stored as 8 hex digits
        return std::bit_cast<float>(static_cast<std::uint32_t>(std::stoul(get(key), nullptr, 16)));
    }
    std::vector<std::size_t> sizes(const std::string& key) const {
        std::istringstream in(get(key));
        std::vector<std::size_t> v;
        for (std::size_t x; in >> x;) v.push_back(x);
        return v;
    }
    const std::vector<float>& f32(const std::string& key) const {
        auto it = floats.find(key);
        if (it == floats.end()) throw error("golden case " + name + ": no f32 array '" + key + "'");
        return it->second;
    }
    const std::vector<std::int64_t>& i32(const std::string& key) const {
        auto it = ints.find(key);
        if (it == ints.end()) throw error("golden case " + name + ": no i32 array '" + key + "'");
        return it->second;
    }
};

// All cases of tests/data/golden/quant/<file>.txt, in file order.
inline std::vector<quant_case> load_quant_golden(const std::string& file) {
    const std::string path = std::string(ARCHETYPE_TEST_DATA) + "/golden/quant/" + file + ".txt";
    std::ifstream f(path);
    if (!f) throw error("golden file " + path + " cannot be opened; run tests/reference/generate_golden_quant.py");
    std::string line;
    if (!std::getline(f, line) || line != "archetype-quant-golden 1")
        throw error("golden file " + path + ": first line must be 'archetype-quant-golden 1'");
    std::vector<quant_case> cases;
    quant_case* c = nullptr;
    while (std::getline(f, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream in(line);
        std::string key;
        in >> key;
        if (key == "case") {
            cases.emplace_back();
            c = &cases.back();
            in >> c->name;
        } else if (!c) {
            throw error("golden file " + path + ": '" + key + "' before the first case");
        } else if (key == "end") {
            c = nullptr;
        } else if (key == "f32" || key == "i32") {
            std::string array;
            std::size_t count = 0;
            in >> array >> count;
            if (key == "f32") {
                auto& v = c->floats[array];
                for (std::size_t i = 0; i < count; ++i) {
                    std::uint32_t b = 0;
                    if (!(f >> std::hex >> b >> std::dec)) throw error("golden file " + path + ": " + array + " truncated");
                    v.push_back(std::bit_cast<float>(b));
                }
            } else {
                auto& v = c->ints[array];
                for (std::size_t i = 0; i < count; ++i) {
                    std::int64_t x = 0;
                    if (!(f >> x)) throw error("golden file " + path + ": " + array + " truncated");
                    v.push_back(x);
                }
            }
        } else {
            std::string rest;
            std::getline(in >> std::ws, rest);
            c->config[key] = rest;
        }
    }
    if (cases.empty()) throw error("golden file " + path + " holds no case");
    return cases;
}

// Number of elements whose bits differ (printing the first few); the caller CHECKs that it is 0.
inline std::size_t count_bit_mismatches(std::span<const float> got, std::span<const float> want, const char* what) {
    REQUIRE(got.size() == want.size());
    std::size_t bad = 0;
    for (std::size_t i = 0; i < got.size(); ++i)
        if (std::bit_cast<std::uint32_t>(got[i]) != std::bit_cast<std::uint32_t>(want[i]) && bad++ < 3)
            std::printf("  %s[%zu]: got %.9g (%08x), want %.9g (%08x)\n", what, i, double(got[i]),
                        std::bit_cast<std::uint32_t>(got[i]), double(want[i]), std::bit_cast<std::uint32_t>(want[i]));
    return bad;
}

template <class A, class B>
std::size_t count_mismatches(const A& got, const B& want, const char* what) {
    REQUIRE(got.size() == want.size());
    std::size_t bad = 0;
    for (std::size_t i = 0; i < got.size(); ++i)
        if (static_cast<std::int64_t>(got[i]) != static_cast<std::int64_t>(want[i]) && bad++ < 3)
            std::printf("  %s[%zu]: got %lld, want %lld\n", what, i, static_cast<long long>(got[i]),
                        static_cast<long long>(want[i]));
    return bad;
}

template <class T>
struct type_tag {
    using type = T;
};

// Calls f(type_tag<Range>{}) for the range policy the golden files call `name`.
template <class F>
void with_range(const std::string& name, F&& f) {
    namespace q = archetype::quant;
    if (name == "uint8") f(type_tag<q::uint8_range>{});
    else if (name == "int8_full") f(type_tag<q::int8_full_range>{});
    else if (name == "int8_narrow") f(type_tag<q::int8_narrow_range>{});
    else if (name == "int8_reduced") f(type_tag<q::int8_reduced_range>{});
    else if (name == "uint8_reduced") f(type_tag<q::uint8_reduced_range>{});
    else if (name == "int4") f(type_tag<q::int4_range>{});
    else if (name == "uint4") f(type_tag<q::uint4_range>{});
    else throw error("golden files: unknown range '" + name + "'");
}

// Calls f(type_tag<Scheme>{}) for "affine" or "symmetric".
template <class F>
void with_scheme(const std::string& name, F&& f) {
    if (name == "affine") f(type_tag<archetype::quant::affine>{});
    else if (name == "symmetric") f(type_tag<archetype::quant::symmetric>{});
    else throw error("golden files: unknown scheme '" + name + "'");
}

}  // namespace archetype::test
