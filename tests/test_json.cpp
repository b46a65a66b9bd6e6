// JSON: parse/write round trips, exact numbers, escapes and UTF-8, every rejection with its position,
// JSON lines, the NAS-Bench-Macro table, and genotypes as JSON objects.
#include <doctest/doctest.h>

#include <bit>
#include <chrono>
#include <cstring>
#include <limits>

#include "archetype/graph/branches.hpp"
#include "archetype/io/genotype_json.hpp"
#include "archetype/layers/dense.hpp"

namespace at = archetype;
using at::json;

namespace {
std::string error_of(std::string_view text) {
    try {
        json::parse(text, "t.json");
    } catch (const at::error& e) {
        return e.what();
    }
    return "(no error)";
}
}  // namespace

TEST_CASE("values survive parse -> dump -> parse, compact and pretty, with members in insertion order") {
    const std::string text =
        R"({"z":1,"a":[true,false,null,-0,0.5,"s",[],{}],"m":{"k":[1,[2,[3]]]},"e":"\"\\\/\b\f\n\r\t\u0001"})";
    const json v = json::parse(text);
    CHECK(v.as_object()[0].first == "z");  // not sorted
    CHECK(v.at("e").as_string() == "\"\\/\b\f\n\r\t\x01");
    // compact output is the input minus the optional "\/" escape
    CHECK(v.dump() ==
          R"({"z":1,"a":[true,false,null,-0,0.5,"s",[],{}],"m":{"k":[1,[2,[3]]]},"e":"\"\\/\b\f\n\r\t\u0001"})");
    CHECK(json::parse(v.dump()) == v);
    CHECK(json::parse(v.dump(2)) == v);
    CHECK(json::parse(R"({"a":[1,{"b":null}],"c":{}})").dump(2) ==
          "{\n  \"a\": [\n    1,\n    {\n      \"b\": null\n    }\n  ],\n  \"c\": {}\n}");
    CHECK(json::parse(" \t\r\n 7 \n") == json(7));

    json built = json::object();
    built.set("b", 1).set("a", json::array({"x", 2.5, nullptr})).set("b", true);  // replacing keeps the place
    CHECK(built.dump() == R"({"b":true,"a":["x",2.5,null]})");
    CHECK(built != json::parse(R"({"a":["x",2.5,null],"b":true})"));  // order matters for ==
}

TEST_CASE("numbers: integers exact to 2^53 and without exponent, every double round trips bit for bit") {
    CHECK(json::parse("9007199254740992").as_integer() == 9007199254740992LL);
    CHECK(json::parse("-9007199254740991").dump() == "-9007199254740991");
    CHECK(json(123456789).dump() == "123456789");
    CHECK(json(1e16).dump() == "1e+16");
    CHECK(json(0.1).dump() == "0.1");
    CHECK(json(-0.0).dump() == "-0");
    CHECK(std::signbit(json::parse("-0").as_number()));
    CHECK(json::parse("1E2").as_number() == 100.0);
    CHECK(json::parse("-1.25e-3").as_number() == -0.00125);
    CHECK(json::parse("4.9e-324").as_number() == std::numeric_limits<double>::denorm_min());
    at::rng r{at::seed{3}};
    int checked = 0;
    for (int i = 0; i < 20000; ++i) {
        const double x = std::bit_cast<double>(r());
        if (!std::isfinite(x)) continue;
        ++checked;
        const double back = json::parse(json(x).dump()).as_number();
        if (std::bit_cast<std::uint64_t>(back) != std::bit_cast<std::uint64_t>(x)) FAIL("round trip of " << x);
    }
    CHECK(checked > 19000);
    CHECK_THROWS_WITH_AS(json(std::numeric_limits<double>::quiet_NaN()).dump(), doctest::Contains("NaN"), at::error);
    CHECK_THROWS_AS(json(HUGE_VAL).dump(), at::error);
    CHECK_THROWS_WITH_AS(json((std::int64_t(1) << 53) + 1), doctest::Contains("beyond 2^53"), at::error);
    CHECK(json(std::int64_t(1) << 53).as_integer() == (std::int64_t(1) << 53));
    CHECK_THROWS_WITH_AS(json(2.5).as_integer(), doctest::Contains("expected an integer, got 2.5"), at::error);
}

TEST_CASE("\\u escapes and surrogate pairs become UTF-8; UTF-8 passes through the writer unchanged") {
    CHECK(json::parse(R"("\u00e9\u20AC\ud83d\ude00A")").as_string() == "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80" "A");
    CHECK(json::parse("\"\xC3\xA9\xF0\x9F\x98\x80\"").as_string() == "\xC3\xA9\xF0\x9F\x98\x80");
    CHECK(json("\xC3\xA9\x1f").dump() == "\"\xC3\xA9\\u001f\"");
    CHECK(json::parse(R"("\u0000")").as_string() == std::string(1, '\0'));
    CHECK(json(std::string(1, '\0')).dump() == R"("\u0000")");
}

TEST_CASE("every malformed text is rejected with its line, column and what was expected") {
    // truncated
    CHECK(error_of("") == "archetype: t.json:1:1: expected a JSON value (object, array, string, number, true, "
                          "false or null), got the end of the input");
    CHECK(error_of("{\"a\": [1, 2") == "archetype: t.json:1:12: expected ',' or ']' after an array element, got the "
                                        "end of the input");
    CHECK(error_of("{\"a\"") == "archetype: t.json:1:5: expected ':' after the member name, got the end of the input");
    CHECK(error_of("\"abc") == "archetype: t.json:1:5: expected '\"' closing the string, got the end of the input");
    CHECK(error_of("tru") == "archetype: t.json:1:4: expected 'true', got the end of the input");
    CHECK(error_of("\"\\u12") ==
          "archetype: t.json:1:6: expected 4 hexadecimal digits after \\u, got the end of the input");
    // line and column count from the last newline
    CHECK(error_of("{\n  \"a\": 1,\n  \"b\" 2\n}") ==
          "archetype: t.json:3:7: expected ':' after the member name, got '2'");
    // escapes
    CHECK(error_of(R"("a\x")") == "archetype: t.json:1:4: expected an escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t or "
                                  "\\uXXXX) after the backslash, got 'x'");
    CHECK(error_of(R"("\u12G4")") == "archetype: t.json:1:6: expected 4 hexadecimal digits after \\u, got 'G'");
    CHECK(error_of(R"(["\ud800"])") == "archetype: t.json:1:3: the lone surrogate \\ud800 is not a character; a "
                                       "surrogate pair is \\uD800-\\uDBFF then \\uDC00-\\uDFFF");
    CHECK(error_of(R"("\udc00\ud800")").find("t.json:1:2: the lone surrogate \\udc00") != std::string::npos);
    CHECK(error_of(R"("\ud800\u0041")").find("t.json:1:2: the lone surrogate \\ud800") != std::string::npos);
    // strings: raw control characters, broken UTF-8 (overlong, encoded surrogate, beyond U+10FFFF, cut short)
    CHECK(error_of("\"a\tb\"") == "archetype: t.json:1:3: expected a string character (control characters must be "
                                  "escaped, e.g. \\n), got byte 0x09");
    for (const char* bad : {"\"\xC0\x80\"", "\"\xED\xA0\x80\"", "\"\xF4\x90\x80\x80\"", "\"\xE2\x82\"", "\"\x80\""})
        CHECK(error_of(bad).find("t.json:1:2: expected valid UTF-8 in the string") != std::string::npos);
    // trailing commas
    CHECK(error_of("[1,2,]") ==
          "archetype: t.json:1:6: expected a value after ',' (JSON has no trailing commas), got ']'");
    CHECK(error_of("{\"a\":1,}") == "archetype: t.json:1:8: expected '\"' starting a member name (JSON has no "
                                    "trailing commas), got '}'");
    CHECK(error_of("[,1]").find("t.json:1:2: expected a JSON value") != std::string::npos);
    // numbers
    CHECK(error_of("01") == "archetype: t.json:1:2: expected '.', 'e' or the end of the number (JSON numbers have no "
                            "leading zeros), got '1'");
    CHECK(error_of("[-012]").find("t.json:1:4: expected '.', 'e' or the end") != std::string::npos);
    CHECK(error_of("+1").find("t.json:1:1: expected a JSON value") != std::string::npos);
    CHECK(error_of(".5").find("t.json:1:1: expected a JSON value") != std::string::npos);
    CHECK(error_of("-").find("t.json:1:2: expected a digit, got the end") != std::string::npos);
    CHECK(error_of("1.").find("t.json:1:3: expected a digit after the decimal point") != std::string::npos);
    CHECK(error_of("1e+").find("t.json:1:4: expected a digit in the exponent") != std::string::npos);
    CHECK(error_of("[1e400]") == "archetype: t.json:1:2: the number 1e400 overflows a double or underflows it to 0; "
                                 "write a number a double holds");
    CHECK(error_of("1e-400").find("underflows it to 0") != std::string::npos);
    CHECK(error_of("NaN").find("expected a JSON value") != std::string::npos);
    // trailing garbage, duplicates, depth, other syntax
    CHECK(error_of("{} x") == "archetype: t.json:1:4: expected the end of the input after the JSON value (remove the "
                              "extra text), got 'x'");
    CHECK(error_of("[1] [2]").find("t.json:1:5: expected the end of the input") != std::string::npos);
    CHECK(error_of("{\"k\":1,\n\"b\":2,\"k\":3}") == "archetype: t.json:2:7: the member name \"k\" appears twice in "
                                                     "one object; JSON member names must be unique");
    CHECK(error_of(std::string(513, '[') + std::string(513, ']')).find("nest deeper than 512") != std::string::npos);
    CHECK(json::parse(std::string(512, '[') + std::string(512, ']')).is_array());
    CHECK(error_of("{'a':1}") == "archetype: t.json:1:2: expected '\"' starting a member name, or '}', got '''");
    CHECK(error_of("[1 2]") == "archetype: t.json:1:4: expected ',' or ']' after an array element, got '2'");
    CHECK(error_of("{\"a\":1 \"b\":2}") ==
          "archetype: t.json:1:8: expected ',' or '}' after an object member, got '\"'");
    CHECK(error_of("\xEF\xBB\xBF{}") == "archetype: t.json:1:1: expected a JSON value (object, array, string, number, "
                                        "true, false or null), got byte 0xEF");
}

TEST_CASE("typed access says what it expected and what it got") {
    const json v = json::parse(R"({"n":1,"s":"x"})");
    CHECK_THROWS_WITH_AS(v.at("n").as_string(), "archetype: JSON: expected a string, got a number", at::error);
    CHECK_THROWS_WITH_AS(v.at("s").as_number(), "archetype: JSON: expected a number, got a string", at::error);
    CHECK_THROWS_WITH_AS(v.as_array(), "archetype: JSON: expected an array, got an object", at::error);
    CHECK_THROWS_WITH_AS(v.at("q"), "archetype: JSON: the object has no member \"q\"", at::error);
    CHECK(v.find("q") == nullptr);
    CHECK(v.find("s")->as_string() == "x");
}

TEST_CASE("JSON lines: one compact value per line, errors name the line, a torn last line can be dropped") {
    std::string log = at::to_json_line(json::parse(R"({"i": 0, "acc": 0.5})"));
    CHECK(log == "{\"i\":0,\"acc\":0.5}\n");
    log += "\n" + at::to_json_line(json::array({1, 2}));
    const auto values = at::parse_json_lines(log, "log.jsonl");
    REQUIRE(values.size() == 2);
    CHECK(values[1] == json::array({1, 2}));
    const std::string torn = log + "{\"i\": 2, \"ac";
    CHECK_THROWS_WITH_AS(at::parse_json_lines(torn, "log.jsonl"),
                         doctest::Contains("archetype: log.jsonl:4:13: expected '\"' closing the string"), at::error);
    CHECK(at::parse_json_lines(torn, "log.jsonl", true).size() == 2);
    CHECK(at::parse_json_lines(log + "{\"i\": 2}", "log.jsonl", true).size() == 3);  // unterminated but whole
    CHECK_THROWS_WITH_AS(at::parse_json_lines("1\n[\n2\n", "log.jsonl", true),  // a torn line in the middle
                         doctest::Contains("archetype: log.jsonl:2:2: expected a JSON value"), at::error);
}

TEST_CASE("the NAS-Bench-Macro table parses in well under a second") {
    const auto t0 = std::chrono::steady_clock::now();
    const json table = at::read_json_file(std::string(ARCHETYPE_SHARED_DATA) + "/nas-bench-macro_cifar10.json");
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    MESSAGE("nas-bench-macro_cifar10.json parsed in " << seconds << " s");
#ifdef NDEBUG
    CHECK(seconds < 1.0);  // ~0.05 s at -O3 (unoptimised ASan + UBSan builds take ~1 s, and are not timed)
#endif
    CHECK(table.size() == 6561);  // 3^8 architectures
    for (const auto& [key, entry] : table.as_object()) {
        CHECK(key.size() == 8);
        CHECK(key.find_first_not_of("012") == std::string::npos);
        CHECK(entry.size() == 5);
    }
    const json& first = table.at("02012100");
    CHECK(first.at("test_acc")[0].as_number() == 89.47000122070312);
    CHECK(first.at("params").as_integer() == 890666);
    CHECK(first.at("flops").as_integer() == 47327744);
    CHECK(json::parse(table.dump()) == table);
    CHECK_THROWS_WITH_AS(at::read_json_file("/nonexistent/x.json"), doctest::Contains("'/nonexistent/x.json'"),
                         at::error);
}

// Genotypes as JSON: the space of test_space.cpp.
using edge = at::choice<"e", at::option<"zero", at::zero>, at::option<"skip", at::identity>, at::dense<4>>;
using head = at::choice<"head", at::dense<2>, at::dense<2, false>>;
using sp = at::search_space<at::shape{4, 1, 1}, at::sequential<at::repeat<3, at::residual<edge>>, head>>;

TEST_CASE("genotypes round trip through JSON objects with labels, and accept indices") {
    CHECK(at::to_json<sp>({1, 0}).dump() == R"({"e":"skip","head":"0"})");
    CHECK(at::to_json<sp>({2, 1}).dump() == R"({"e":"2","head":"1"})");
    at::rng r{at::seed{9}};
    for (int t = 0; t < 20; ++t) {
        const auto g = sp::sample(r);
        CHECK(at::genotype_from_json<sp>(json::parse(at::to_json<sp>(g).dump())) == g);
    }
    CHECK(at::genotype_from_json<sp>(json::parse(R"({"head": 1, "e": "zero"})")) == sp::genotype{0, 1});
    CHECK(at::genotype_from_json<sp>(json::parse(R"({"head": "1", "e": 2})")) == sp::genotype{2, 1});
    CHECK_THROWS_AS(at::to_json<sp>({3, 0}), at::error);
}

TEST_CASE("bad genotype JSON is rejected naming the decision and the allowed values") {
    auto from = [](const char* text) { return at::genotype_from_json<sp>(json::parse(text)); };
    CHECK_THROWS_WITH_AS(from(R"({"e":"conv","head":0})"),
                         "archetype: genotype: decision \"e\" has no alternative \"conv\"; allowed: zero, skip, 2",
                         at::error);
    CHECK_THROWS_WITH_AS(from(R"({"e":3,"head":0})"),
                         "archetype: genotype: decision \"e\" has no alternative 3; allowed: zero, skip, 2", at::error);
    CHECK_THROWS_WITH_AS(from(R"({"e":-1,"head":0})"), doctest::Contains("has no alternative -1"), at::error);
    CHECK_THROWS_WITH_AS(from(R"({"e":"skip"})"),
                         "archetype: genotype: decision \"head\" is missing; give one of: 0, 1", at::error);
    CHECK_THROWS_WITH_AS(from(R"({"e":"skip","head":0,"x":1})"),
                         "archetype: genotype: the space has no decision \"x\"; its decisions are e, head", at::error);
    CHECK_THROWS_WITH_AS(from(R"({"e":1.5,"head":0})"),
                         "archetype: genotype: decision \"e\" has the value 1.5 (a number); give a label string or an "
                         "integer index; allowed: zero, skip, 2",
                         at::error);
    CHECK_THROWS_WITH_AS(from(R"({"e":true,"head":0})"), doctest::Contains("has the value true (a boolean)"),
                         at::error);
    CHECK_THROWS_WITH_AS(from(R"({"e":null,"head":0})"), doctest::Contains("has the value null (null)"), at::error);
    CHECK_THROWS_WITH_AS(from(R"(["skip", 0])"),
                         "archetype: genotype: expected a JSON object {\"decision\": \"label\", ...}, got an array",
                         at::error);
    // the parser rejects a repeated member; a programmatically built object is checked again
    CHECK_THROWS_WITH_AS(from(R"({"e":"skip","e":"zero","head":0})"), doctest::Contains("appears twice"), at::error);
    const json twice = json::object({{"e", "skip"}, {"e", "zero"}, {"head", 0}});
    CHECK_THROWS_WITH_AS(at::genotype_from_json<sp>(twice), "archetype: genotype: decision \"e\" is given twice",
                         at::error);
}
