// archetype/io/json.hpp — a small strict JSON value (RFC 8259), its parser and its writer.
//
// Contract: json::parse accepts exactly RFC 8259 text (UTF-8; any value at the top level; whitespace
// is space, tab, CR, LF) and rejects everything else with an archetype::error that names the source,
// the line and column (1-based, column in bytes) and what was expected: truncated input, bad escapes,
// lone surrogates, raw control characters or invalid UTF-8 in strings, leading zeros, trailing commas,
// duplicate member names, numbers a double cannot hold (overflow, or underflow to 0), nesting deeper
// than 512, and anything after the value. \uXXXX escapes (surrogate pairs included) become UTF-8.
// Numbers are doubles read with correct rounding, so integers up to 2^53 are exact. Objects keep their
// members in insertion order. dump() writes compact (indent < 0) or pretty text, deterministically;
// a number is written so that it reads back as the same double (integers below 2^53 as plain digits);
// NaN and infinities cannot be written and throw. == compares deeply (object members in order).
// JSON lines (search logs): one compact value per line, to_json_line and parse_json_lines.
#pragma once

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "archetype/core/error.hpp"
#include "archetype/core/atomic_file.hpp"

namespace archetype {

class json {
public:
    enum class kind : unsigned char { null, boolean, number, string, array, object };
    using array_type = std::vector<json>;
    using member = std::pair<std::string, json>;
    using object_type = std::vector<member>;

    json() = default;
    json(std::nullptr_t) {}
    json(bool b) : v_(b) {}
    json(const char* s) : v_(std::string(s)) {}
    json(std::string s) : v_(std::move(s)) {}
    json(std::string_view s) : v_(std::string(s)) {}
    template <class T>
        requires(std::is_arithmetic_v<T> && !std::is_same_v<T, bool> && !std::is_same_v<T, char>)
    json(T x) : v_(double(x)) {
        if constexpr (std::is_integral_v<T> && sizeof(T) >= 8) {
            bool beyond = x > T(max_exact);
            if constexpr (std::is_signed_v<T>) beyond = beyond || x < -T(max_exact);
            if (beyond)
                throw error("JSON: the integer " + std::to_string(x) + " is beyond 2^53 and would lose digits "
                            "as a JSON number (a double); store it as a string");
        }
    }
    static json array(array_type items = {}) { return json(std::move(items)); }
    static json object(object_type members = {}) { return json(std::move(members)); }

    // Parses one JSON text; `source` names it in error messages (a file name, "genotype", ...).
    static json parse(std::string_view text, std::string_view source = "JSON text");

    kind type() const { return kind(v_.index()); }
    bool is_null() const { return type() == kind::null; }
    bool is_bool() const { return type() == kind::boolean; }
    bool is_number() const { return type() == kind::number; }
    bool is_string() const { return type() == kind::string; }
    bool is_array() const { return type() == kind::array; }
    bool is_object() const { return type() == kind::object; }
    // A number with no fraction and magnitude at most 2^53.
    bool is_integer() const {
        return is_number() && std::trunc(get<double>()) == get<double>() && std::abs(get<double>()) <= max_exact;
    }

    // Typed access; the wrong kind throws archetype::error naming both kinds.
    bool as_bool() const { return get<bool>(); }
    double as_number() const { return get<double>(); }
    std::int64_t as_integer() const {
        if (!is_integer())
            throw error("JSON: expected an integer, got " + (is_number() ? dump() : std::string(type_name())));
        return std::int64_t(get<double>());
    }
    const std::string& as_string() const { return get<std::string>(); }
    const array_type& as_array() const { return get<array_type>(); }
    array_type& as_array() { return const_cast<array_type&>(std::as_const(*this).as_array()); }
    const object_type& as_object() const { return get<object_type>(); }
    object_type& as_object() { return const_cast<object_type&>(std::as_const(*this).as_object()); }

    // Elements of an array or members of an object.
    std::size_t size() const { return is_array() ? as_array().size() : as_object().size(); }
    const json& operator[](std::size_t i) const { return as_array().at(i); }
    void push_back(json v) { as_array().push_back(std::move(v)); }

    // The member named `key` (linear search), or null when there is none.
    const json* find(std::string_view key) const {
        for (const auto& [k, v] : as_object())
            if (k == key) return &v;
        return nullptr;
    }
    const json& at(std::string_view key) const {
        if (const json* v = find(key)) return *v;
        throw error("JSON: the object has no member \"" + std::string(key) + "\"");
    }
    // Sets member `key`, replacing its value when present and appending it otherwise.
    json& set(std::string key, json v) {
        for (auto& [k, old] : as_object())
            if (k == key) return old = std::move(v), *this;
        as_object().emplace_back(std::move(key), std::move(v));
        return *this;
    }

    // Compact text when indent < 0; otherwise one element or member per line, `indent` spaces deep.
    std::string dump(int indent = -1) const {
        std::string out;
        write(out, indent, 0);
        return out;
    }

    const char* type_name() const { return kind_names[v_.index()]; }
    bool operator==(const json&) const = default;

private:
    static constexpr double max_exact = 9007199254740992.0;  // 2^53
    static constexpr const char* kind_names[] = {"null", "a boolean", "a number", "a string", "an array", "an object"};
    explicit json(array_type a) : v_(std::move(a)) {}
    explicit json(object_type o) : v_(std::move(o)) {}

    template <class T>
    const T& get() const {
        if (const T* p = std::get_if<T>(&v_)) return *p;
        using V = decltype(v_);
        const std::size_t wanted = [&]<std::size_t... I>(std::index_sequence<I...>) {
            return ((std::is_same_v<T, std::variant_alternative_t<I, V>> ? I : 0) + ...);
        }(std::make_index_sequence<std::variant_size_v<V>>{});
        throw error(std::string("JSON: expected ") + kind_names[wanted] + ", got " + type_name());
    }

    static void write_string(std::string& out, std::string_view s) {
        static constexpr char hex[] = "0123456789abcdef";
        out += '"';
        for (char ch : s) {
            const auto c = static_cast<unsigned char>(ch);
            const char* short_escape = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\n' ? "\\n" : c == '\r' ? "\\r"
                                     : c == '\t' ? "\\t" : c == '\b' ? "\\b" : c == '\f' ? "\\f" : nullptr;
            if (short_escape) out += short_escape;
            else if (c < 0x20) (out += "\\u00") += hex[c >> 4], out += hex[c & 15];
            else out += ch;
        }
        out += '"';
    }
    static void write_number(std::string& out, double x) {
        if (!std::isfinite(x))
            throw error("JSON: cannot write the number " + std::to_string(x) +
                        " (JSON has no NaN or infinity); check the value before writing it");
        char buf[32];
        const auto r = std::trunc(x) == x && std::abs(x) < max_exact
                           ? std::to_chars(buf, buf + sizeof buf, std::int64_t(x))  // exact, no exponent
                           : std::to_chars(buf, buf + sizeof buf, x);  // shortest text that reads back as x
        if (x == 0 && std::signbit(x)) out += '-';
        out.append(buf, r.ptr);
    }
    void write(std::string& out, int indent, int depth) const {
        auto newline = [&](int d) {
            if (indent >= 0) out.append(1, '\n').append(std::size_t(indent) * std::size_t(d), ' ');
        };
        auto sequence = [&](char open, char close, const auto& items, auto write_item) {
            out += open;
            for (std::size_t i = 0; i < items.size(); ++i) {
                if (i) out += ',';
                newline(depth + 1);
                write_item(items[i]);
            }
            if (!items.empty()) newline(depth);
            out += close;
        };
        switch (type()) {
            case kind::null: out += "null"; break;
            case kind::boolean: out += as_bool() ? "true" : "false"; break;
            case kind::number: write_number(out, as_number()); break;
            case kind::string: write_string(out, as_string()); break;
            case kind::array:
                sequence('[', ']', as_array(), [&](const json& v) { v.write(out, indent, depth + 1); });
                break;
            case kind::object:
                sequence('{', '}', as_object(), [&](const member& m) {
                    write_string(out, m.first);
                    out += indent >= 0 ? ": " : ":";
                    m.second.write(out, indent, depth + 1);
                });
                break;
        }
    }

    std::variant<std::nullptr_t, bool, double, std::string, array_type, object_type> v_;
};

class json_parser {
public:
    // `first_line` numbers the text's first line in messages (for a line taken from a larger file).
    json_parser(std::string_view text, std::string_view source, std::size_t first_line = 1)
        : t_(text), source_(source), first_line_(first_line) {}

    json parse_document() {
        skip_space();
        json v = value(0);
        skip_space();
        if (p_ < t_.size()) fail("the end of the input after the JSON value (remove the extra text)");
        return v;
    }

private:
    static constexpr int max_depth = 512;
    std::string_view t_, source_;
    std::size_t first_line_ = 1, p_ = 0;

    [[noreturn]] void problem(const std::string& what, std::size_t at) const {
        std::size_t line = first_line_, col = 1;
        for (std::size_t i = 0; i < at && i < t_.size(); ++i) t_[i] == '\n' ? (++line, col = 1) : ++col;
        throw error(std::string(source_) + ":" + std::to_string(line) + ":" + std::to_string(col) + ": " + what);
    }
    [[noreturn]] void fail(const std::string& expected, std::size_t at) const {
        std::string got = "the end of the input";
        if (at < t_.size()) {
            static constexpr char hex[] = "0123456789ABCDEF";
            const auto c = static_cast<unsigned char>(t_[at]);
            got = c >= 0x20 && c < 0x7f ? "'" + std::string(1, char(c)) + "'"
                                        : std::string("byte 0x") + hex[c >> 4] + hex[c & 15];
        }
        problem("expected " + expected + ", got " + got, at);
    }
    [[noreturn]] void fail(const std::string& expected) const { fail(expected, p_); }

    int peek() const { return p_ < t_.size() ? static_cast<unsigned char>(t_[p_]) : -1; }
    bool digit() const { return peek() >= '0' && peek() <= '9'; }
    void skip_space() {
        while (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r') ++p_;
    }
    json word(std::string_view w, json v) {
        for (char c : w)
            if (peek() == c) ++p_;
            else fail("'" + std::string(w) + "'");
        return v;
    }

    json value(int depth) {
        if ((peek() == '[' || peek() == '{') && depth == max_depth)
            problem("arrays and objects nest deeper than " + std::to_string(max_depth) + " levels", p_);
        switch (peek()) {
            case '{': return object(depth);
            case '[': return array(depth);
            case '"': return json(string());
            case 't': return word("true", true);
            case 'f': return word("false", false);
            case 'n': return word("null", nullptr);
            default:
                if (peek() == '-' || digit()) return json(number());
                fail("a JSON value (object, array, string, number, true, false or null)");
        }
    }

    json array(int depth) {
        ++p_;
        json::array_type items;
        skip_space();
        if (peek() == ']') return ++p_, json::array(std::move(items));
        for (;;) {
            skip_space();
            if (!items.empty() && peek() == ']') fail("a value after ',' (JSON has no trailing commas)");
            items.push_back(value(depth + 1));
            skip_space();
            if (peek() == ']') return ++p_, json::array(std::move(items));
            if (peek() != ',') fail("',' or ']' after an array element");
            ++p_;
        }
    }

    json object(int depth) {
        ++p_;
        json::object_type members;
        std::vector<std::size_t> key_at;  // where each name starts, for duplicate reports
        skip_space();
        while (peek() != '}') {
            if (!members.empty()) {
                if (peek() != ',') fail("',' or '}' after an object member");
                ++p_;
                skip_space();
            }
            if (peek() != '"')
                fail(members.empty() ? "'\"' starting a member name, or '}'"
                                     : "'\"' starting a member name (JSON has no trailing commas)");
            key_at.push_back(p_);
            std::string key = string();
            skip_space();
            if (peek() != ':') fail("':' after the member name");
            ++p_;
            skip_space();
            members.emplace_back(std::move(key), value(depth + 1));
            skip_space();
        }
        ++p_;
        if (members.size() > 1) {  // names must be unique: sort positions by name, compare neighbours
            std::vector<std::size_t> order(members.size());
            for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
            std::stable_sort(order.begin(), order.end(),
                             [&](std::size_t a, std::size_t b) { return members[a].first < members[b].first; });
            for (std::size_t i = 1; i < order.size(); ++i)
                if (members[order[i]].first == members[order[i - 1]].first)
                    problem("the member name \"" + members[order[i]].first +
                                "\" appears twice in one object; JSON member names must be unique",
                            key_at[order[i]]);
        }
        return json::object(std::move(members));
    }

    unsigned hex4() {
        unsigned u = 0;
        const char* end = t_.data() + std::min(p_ + 4, t_.size());
        const char* stop = std::from_chars(t_.data() + p_, end, u, 16).ptr;
        if (stop != t_.data() + p_ + 4) fail("4 hexadecimal digits after \\u", std::size_t(stop - t_.data()));
        p_ += 4;
        return u;
    }
    static void put_utf8(std::string& out, unsigned u) {
        const int n = u < 0x80 ? 1 : u < 0x800 ? 2 : u < 0x10000 ? 3 : 4;
        static constexpr unsigned lead[] = {0, 0, 0xC0, 0xE0, 0xF0};
        out += char(n == 1 ? u : lead[n] | (u >> (6 * (n - 1))));
        for (int k = n - 2; k >= 0; --k) out += char(0x80 | ((u >> (6 * k)) & 0x3F));
    }
    // Length of the well-formed UTF-8 sequence at p_ (lead byte >= 0x80), or 0 when it is not one.
    std::size_t utf8_length() const {
        auto at = [&](std::size_t k) { return p_ + k < t_.size() ? static_cast<unsigned char>(t_[p_ + k]) : 0u; };
        const unsigned b = at(0);
        const std::size_t n = b >= 0xC2 && b <= 0xDF ? 2 : b >= 0xE0 && b <= 0xEF ? 3 : b >= 0xF0 && b <= 0xF4 ? 4 : 0;
        const unsigned lo = b == 0xE0 ? 0xA0 : b == 0xF0 ? 0x90 : 0x80;  // no overlong forms
        const unsigned hi = b == 0xED ? 0x9F : b == 0xF4 ? 0x8F : 0xBF;  // no surrogates, nothing past U+10FFFF
        if (n == 0 || at(1) < lo || at(1) > hi) return 0;
        for (std::size_t k = 2; k < n; ++k)
            if (at(k) < 0x80 || at(k) > 0xBF) return 0;
        return n;
    }

    std::string string() {
        ++p_;
        std::string out;
        for (;;) {
            const std::size_t run = p_;  // copy a run of plain ASCII at once
            while (peek() >= 0x20 && peek() < 0x80 && peek() != '"' && peek() != '\\') ++p_;
            out.append(t_.substr(run, p_ - run));
            const int c = peek();
            if (c == '"') return ++p_, out;
            if (c < 0) fail("'\"' closing the string");
            if (c < 0x20) fail("a string character (control characters must be escaped, e.g. \\n)");
            if (c >= 0x80) {
                const std::size_t n = utf8_length();
                if (n == 0) fail("valid UTF-8 in the string");
                out.append(t_.substr(p_, n));
                p_ += n;
                continue;
            }
            const std::size_t escape = p_++;
            const std::string_view simple = "\"\\/bfnrt", meaning = "\"\\/\b\f\n\r\t";
            if (const auto k = simple.find(char(peek())); peek() > 0 && k != std::string_view::npos) {
                out += meaning[k];
                ++p_;
                continue;
            }
            if (peek() != 'u') fail("an escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t or \\uXXXX) after the backslash");
            ++p_;
            unsigned u = hex4();
            const std::string lone = "the lone surrogate \\u" + std::string(t_.substr(escape + 2, 4)) +
                                     " is not a character; a surrogate pair is \\uD800-\\uDBFF then \\uDC00-\\uDFFF";
            if (u >= 0xDC00 && u <= 0xDFFF) problem(lone, escape);
            if (u >= 0xD800 && u <= 0xDBFF) {
                if (peek() != '\\' || p_ + 1 >= t_.size() || t_[p_ + 1] != 'u') problem(lone, escape);
                p_ += 2;
                const unsigned low = hex4();
                if (low < 0xDC00 || low > 0xDFFF) problem(lone, escape);
                u = 0x10000 + ((u - 0xD800) << 10) + (low - 0xDC00);
            }
            put_utf8(out, u);
        }
    }

    double number() {
        const std::size_t start = p_;
        auto digits = [&] {
            const std::size_t from = p_;
            while (digit()) ++p_;
            return p_ - from;
        };
        if (peek() == '-') ++p_;
        if (peek() == '0') {
            ++p_;
            if (digit()) fail("'.', 'e' or the end of the number (JSON numbers have no leading zeros)");
        } else if (digits() == 0) {
            fail("a digit");
        }
        if (peek() == '.' && (++p_, digits() == 0)) fail("a digit after the decimal point");
        if (peek() == 'e' || peek() == 'E') {
            ++p_;
            if (peek() == '+' || peek() == '-') ++p_;
            if (digits() == 0) fail("a digit in the exponent");
        }
        double x = 0;
        if (std::from_chars(t_.data() + start, t_.data() + p_, x).ec != std::errc())
            problem("the number " + std::string(t_.substr(start, p_ - start)) +
                        " overflows a double or underflows it to 0; write a number a double holds",
                    start);
        return x;
    }
};

inline json json::parse(std::string_view text, std::string_view source) {
    return json_parser(text, source).parse_document();
}

// The value in a JSON file; the file's path names it in error messages.
inline json read_json_file(const std::filesystem::path& path) {
    const auto bytes = read_file(path, "JSON file");
    return json::parse(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), path.string());
}

// One line of a JSON-lines file: the compact text and a newline.
inline std::string to_json_line(const json& v) { return v.dump() + '\n'; }

// The values of JSON-lines text, one per non-blank line; errors name the line. With
// `drop_torn_last_line`, a last line without its newline that does not parse (a write cut short by a
// crash) is left out instead of being an error.
inline std::vector<json> parse_json_lines(std::string_view text, std::string_view source = "JSON lines",
                                          bool drop_torn_last_line = false) {
    std::vector<json> values;
    for (std::size_t line = 1; !text.empty(); ++line) {
        const std::size_t end = text.find('\n');
        const std::string_view row = text.substr(0, end);
        if (row.find_first_not_of(" \t\r") != std::string_view::npos) {
            try {
                values.push_back(json_parser(row, source, line).parse_document());
            } catch (const error&) {
                if (!(drop_torn_last_line && end == std::string_view::npos)) throw;
            }
        }
        text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    }
    return values;
}

}  // namespace archetype
