// Weight files: bit-exact round trip (parameters and state), every way a file can be wrong (each leaving
// the network untouched), and atomic writes.
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include <unistd.h>

#include "support/temp_dir.hpp"
#include "archetype/graph/network.hpp"
#include "archetype/graph/sequential.hpp"
#include "archetype/io/io.hpp"
#include "archetype/layers/batchnorm.hpp"
#include "archetype/layers/dense.hpp"
#include "archetype/layers/identity.hpp"

namespace at = archetype;
namespace fs = std::filesystem;
using bytes = std::vector<unsigned char>;

namespace {
using test_support::temp_dir;

bytes read(const fs::path& p) { return at::read_file(p); }
void write(const fs::path& p, const bytes& b) {
    std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
}

using small_net = at::network<at::shape{3, 1, 1}, at::sequential<at::dense<4>, at::batch_norm, at::dense<2>>>;
using other_net = at::network<at::shape{3, 1, 1}, at::sequential<at::dense<5>, at::batch_norm, at::dense<2>>>;

template <class Net>
std::vector<float> snapshot(Net& n) {
    std::vector<float> v(n.params().begin(), n.params().end());
    v.insert(v.end(), n.state().begin(), n.state().end());
    return v;
}

}  // namespace

TEST_CASE("weights round-trip bit-exactly, parameters and state, in the documented layout") {
    temp_dir dir("weights");
    small_net a{at::seed{1}}, b{at::seed{2}};
    REQUIRE(small_net::state_count == 8);  // batch norm running mean and variance
    for (std::size_t i = 0; i < a.state().size(); ++i) a.state()[i] = 0.5f + float(i);
    a.params()[0] = -0.0f;  // the sign of zero survives
    at::save_weights(a, dir / "w.bin");
    const bytes f = read(dir / "w.bin");
    const std::string sp = small_net::spelling();
    CHECK(f.size() == 36 + sp.size() + 4 * (small_net::param_count + small_net::state_count));
    CHECK(std::memcmp(f.data() + 16, sp.data(), sp.size()) == 0);
    CHECK(f[8] == 1);  // version, little-endian
    at::load_weights(b, dir / "w.bin");
    const auto sa = snapshot(a), sb = snapshot(b);
    REQUIRE(sa.size() == sb.size());
    CHECK(std::memcmp(sa.data(), sb.data(), sa.size() * sizeof(float)) == 0);
    CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator{}) == 1);  // no stray temp files
}

TEST_CASE("weights of another architecture: the message shows both spellings") {
    temp_dir dir("weights");
    other_net o{at::seed{1}};
    at::save_weights(o, dir / "o.bin");
    small_net n{at::seed{2}};
    const auto before = snapshot(n);
    CHECK_THROWS_WITH_AS(at::load_weights(n, dir / "o.bin"), doctest::Contains("another architecture"), at::error);
    const std::string file_line = "file:    " + other_net::spelling(), net_line = "network: " + small_net::spelling();
    CHECK_THROWS_WITH_AS(at::load_weights(n, dir / "o.bin"), doctest::Contains(file_line.c_str()), at::error);
    CHECK_THROWS_WITH_AS(at::load_weights(n, dir / "o.bin"), doctest::Contains(net_line.c_str()), at::error);
    CHECK(snapshot(n) == before);
}

TEST_CASE("very long spellings are shown around their first difference") {
    using d = at::dense<4>;
    using long_a = at::network<at::shape{4, 1, 1}, at::sequential<d, d, d, d, d, d, d, d, d, d, d, at::dense<3>>>;
    using long_b = at::network<at::shape{4, 1, 1}, at::sequential<d, d, d, d, d, d, d, d, d, d, d, at::dense<2>>>;
    REQUIRE(long_a::spelling().size() > 300);
    temp_dir dir("weights");
    long_a a;
    at::save_weights(a, dir / "a.bin");
    long_b b;
    std::string msg;
    try {
        at::load_weights(b, dir / "a.bin");
    } catch (const at::error& e) {
        msg = e.what();
    }
    const std::size_t diff = long_a::spelling().size() - 10;  // the 3 of "dense<3, true>>>" (vs 2)
    CHECK(msg.find("first difference at character " + std::to_string(diff)) != std::string::npos);
    CHECK(msg.find("file:    ...") != std::string::npos);  // cut at the front, the difference kept
    CHECK(msg.find("archetype::dense<4, true>, archetype::dense<3, true>>>\n") != std::string::npos);
    CHECK(msg.find("network: ...") != std::string::npos);
    CHECK(msg.find("archetype::dense<4, true>, archetype::dense<2, true>>>\n") != std::string::npos);
    CHECK(msg.find(long_a::spelling()) == std::string::npos);  // shortened
    CHECK(msg.size() < 600);
}

TEST_CASE("every single bit flip anywhere in the file is detected and leaves the network untouched") {
    temp_dir dir("weights");
    small_net a{at::seed{1}};
    at::save_weights(a, dir / "w.bin");
    const bytes good = read(dir / "w.bin");
    small_net n{at::seed{3}};
    const auto before = snapshot(n);
    std::size_t detected = 0;
    for (std::size_t i = 0; i < good.size(); ++i) {
        bytes bad = good;
        bad[i] ^= static_cast<unsigned char>(1u << (i % 8));
        write(dir / "bad.bin", bad);
        try {
            at::load_weights(n, dir / "bad.bin");
        } catch (const at::error&) {
            ++detected;
        }
    }
    CHECK(detected == good.size());
    CHECK(snapshot(n) == before);
    // a flip in the floats is reported as corruption
    bytes bad = good;
    bad[good.size() - 10] ^= 0x04;
    write(dir / "bad.bin", bad);
    CHECK_THROWS_WITH_AS(at::load_weights(n, dir / "bad.bin"), doctest::Contains("CRC-32 checksum does not match"),
                         at::error);
}

TEST_CASE("truncated, extended, foreign, future-version and miscounted files are each reported") {
    temp_dir dir("weights");
    small_net a{at::seed{1}};
    at::save_weights(a, dir / "w.bin");
    const bytes good = read(dir / "w.bin");
    small_net n{at::seed{3}};
    const auto before = snapshot(n);
    const fs::path p = dir / "bad.bin";
    for (std::size_t len = 1; len < good.size(); ++len) {
        write(p, bytes(good.begin(), good.begin() + std::ptrdiff_t(len)));
        CHECK_THROWS_WITH_AS(at::load_weights(n, p), doctest::Contains("is truncated"), at::error);
    }
    write(p, {});
    CHECK_THROWS_WITH_AS(at::load_weights(n, p), doctest::Contains("is empty"), at::error);
    bytes longer = good;
    longer.push_back(0);
    write(p, longer);
    CHECK_THROWS_WITH_AS(at::load_weights(n, p), doctest::Contains("1 bytes after its end"), at::error);
    write(p, bytes{'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd', '\n', 0, 0, 0, 0, 0, 0});
    CHECK_THROWS_WITH_AS(at::load_weights(n, p), doctest::Contains("not an archetype weights file"), at::error);
    write(p, at::detail::encode_weights(small_net::spelling(), a.params(), a.state(), 2));
    CHECK_THROWS_WITH_AS(at::load_weights(n, p), doctest::Contains("format version 2"), at::error);
    std::vector<float> fewer(a.params().begin(), a.params().end() - 1);
    write(p, at::detail::encode_weights(small_net::spelling(), fewer, a.state()));
    CHECK_THROWS_WITH_AS(at::load_weights(n, p), doctest::Contains("holds 33 parameters and 8 state values"),
                         at::error);
    CHECK_THROWS_WITH_AS(at::load_weights(n, dir / "missing.bin"), doctest::Contains("No such file"), at::error);
    CHECK_THROWS_WITH_AS(at::load_weights(n, dir / "missing.bin"), doctest::Contains("missing.bin"), at::error);
    CHECK(snapshot(n) == before);
}

TEST_CASE("atomic writes replace the whole file, and a failed write leaves nothing behind") {
    temp_dir dir("weights");
    at::write_file_atomically(dir / "f.txt", std::string_view("old contents"));
    at::write_file_atomically(dir / "f.txt", std::string_view("new"));
    const bytes now = read(dir / "f.txt");
    CHECK(std::string(now.begin(), now.end()) == "new");
    CHECK_THROWS_WITH_AS(at::write_file_atomically(dir / "no-such-dir" / "f.txt", std::string_view("x")),
                         doctest::Contains("No such file or directory"), at::error);
    CHECK_THROWS_WITH_AS(at::write_file_atomically(dir / "no-such-dir" / "f.txt", std::string_view("x")),
                         doctest::Contains((dir / "no-such-dir" / "f.txt").string().c_str()), at::error);
    fs::create_directories(dir / "occupied" / "child");  // rename onto a non-empty directory fails
    CHECK_THROWS_WITH_AS(at::write_file_atomically(dir / "occupied", std::string_view("x")),
                         doctest::Contains("rename failed"), at::error);
    std::size_t entries = 0;
    for (const auto& e : fs::directory_iterator(dir.path)) entries += e.path().filename().string().find(".tmp.") ==
                                                                       std::string::npos ? 1 : 100;
    CHECK(entries == 2);  // f.txt and occupied, no temporary file
}
