// examples/cli.hpp — the command-line flags of the example programs, and small statistics they print.
//
// Contract: `cli` maps "--name value" flags onto variables the program owns:
//     std::size_t epochs = 10;  std::string data = "...";
//     examples::cli args("lenet_fashion_mnist", "trains LeNet-5 on Fashion-MNIST");
//     args.flag("--epochs", epochs, "training epochs").flag("--data", data, "dataset directory");
//     args.parse(argc, argv);
// parse() sets each named flag (integers, unsigned integers, floats, doubles, strings; --name=value works
// too), prints the usage with every flag's help and default and exits 0 on --help/-h, and on an unknown
// flag, a missing value or a value that is not a number of the flag's type prints the reason and the
// usage to stderr and exits 2. Not part of the library: examples only.
#pragma once

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace examples {

class cli {
public:
    cli(std::string program, std::string summary) : program_(std::move(program)), summary_(std::move(summary)) {}

    template <class T>
    cli& flag(std::string name, T& target, std::string help) {
        std::ostringstream def;
        def << target;
        flags_.push_back({std::move(name), std::move(help), def.str(), [&target](const std::string& v) {
                              return read(v, target);
                          }});
        return *this;
    }

    void parse(int argc, char** argv) const {
        for (int i = 1; i < argc; ++i) {
            std::string a = argv[i], value;
            if (a == "--help" || a == "-h") {
                std::cout << usage();
                std::exit(0);
            }
            const auto eq = a.find('=');
            const bool inline_value = eq != std::string::npos;
            if (inline_value) {
                value = a.substr(eq + 1);
                a.resize(eq);
            }
            const entry* f = find(a);
            if (!f) fail("unknown option '" + a + "'");
            if (!inline_value) {
                if (i + 1 >= argc) fail("option " + a + " needs a value");
                value = argv[++i];
            }
            if (!f->set(value)) fail("option " + a + " does not take '" + value + "'");
        }
    }

    std::string usage() const {
        std::string u = program_ + ": " + summary_ + "\nusage: " + program_ + " [options]\n";
        for (const entry& f : flags_) u += "  " + f.name + " (default " + (f.def.empty() ? "none" : f.def) + ")  " + f.help + "\n";
        return u;
    }

    [[noreturn]] void fail(const std::string& why) const {
        std::cerr << program_ << ": " << why << "\n" << usage();
        std::exit(2);
    }

private:
    struct entry {
        std::string name, help, def;
        std::function<bool(const std::string&)> set;
    };

    const entry* find(const std::string& name) const {
        for (const entry& f : flags_)
            if (f.name == name) return &f;
        return nullptr;
    }

    template <class T>
    static bool read(const std::string& v, T& out) {
        if constexpr (std::is_same_v<T, std::string>) {
            out = v;
            return true;
        } else if constexpr (std::is_floating_point_v<T>) {
            char* end = nullptr;
            const double d = std::strtod(v.c_str(), &end);
            if (v.empty() || *end != '\0' || !std::isfinite(d)) return false;
            out = T(d);
            return true;
        } else {
            static_assert(std::is_integral_v<T>, "cli: flags are numbers or strings");
            if (std::is_unsigned_v<T> && !v.empty() && v[0] == '-') return false;
            const auto r = std::from_chars(v.data(), v.data() + v.size(), out);
            return r.ec == std::errc() && r.ptr == v.data() + v.size();
        }
    }

    std::string program_, summary_;
    std::vector<entry> flags_;
};

// Mean and sample standard deviation.
struct mean_std {
    double mean = 0, std = 0;
};
inline mean_std summarize(const std::vector<double>& v) {
    mean_std s;
    if (v.empty()) return s;
    for (double x : v) s.mean += x;
    s.mean /= double(v.size());
    for (double x : v) s.std += (x - s.mean) * (x - s.mean);
    s.std = v.size() > 1 ? std::sqrt(s.std / double(v.size() - 1)) : 0.0;
    return s;
}

}  // namespace examples
