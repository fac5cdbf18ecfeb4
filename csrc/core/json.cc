// Response bodies parsed on the worker with simdjson (On-Demand), written out as the tape
// that json.h describes. C++ only because simdjson is: the rest of the core is C, and this
// file keeps C linkage, no exceptions and no C++ types at its edge.
#include "json.h"

#include <cmath>
#include <cstdlib>
#include <cstring>

#include <simdjson.h>

namespace {

using namespace simdjson;

// The tape being written. Grows by doubling; `oom` makes every later write a no-op.
struct tape {
    unsigned char *data = nullptr;
    size_t len = 0, cap = 0;
    bool oom = false;

    bool reserve(size_t more)
    {
        if (oom)
            return false;
        if (cap - len >= more)
            return true;
        size_t want = cap ? cap : 256;
        while (want - len < more)
            want *= 2;
        void *p = std::realloc(data, want);
        if (!p) {
            oom = true;
            return false;
        }
        data = static_cast<unsigned char *>(p);
        cap = want;
        return true;
    }
    void put(const void *p, size_t n)
    {
        if (reserve(n)) {
            std::memcpy(data + len, p, n);
            len += n;
        }
    }
    void tag(acs_tape_tag t)
    {
        unsigned char b = static_cast<unsigned char>(t);
        put(&b, 1);
    }
    void tag_u32(acs_tape_tag t, uint32_t v)
    {
        tag(t);
        put(&v, sizeof v);
    }
    // A count not known yet (objects and arrays): returns where to patch it.
    size_t tag_count(acs_tape_tag t)
    {
        tag_u32(t, 0);
        return len - sizeof(uint32_t);
    }
    void patch(size_t at, uint32_t v)
    {
        if (!oom)
            std::memcpy(data + at, &v, sizeof v);
    }
    // One reserve and straight copies: strings are most of a tape.
    bool str(std::string_view s)
    {
        size_t n = s.size();
        if (n > UINT32_MAX)
            return false;
        bool hashed = n <= ACS_JSON_SHORT; // its length fits one byte
        size_t need = 1 + (hashed ? 1 + sizeof(uint32_t) : sizeof(uint32_t)) + n;
        if (!reserve(need))
            return true; // oom is reported at the end
        unsigned char *p = data + len;
        if (hashed) {
            *p++ = ACS_TAPE_SHORT_STRING;
            *p++ = static_cast<unsigned char>(n);
            uint32_t h = acs_json_hash(s.data(), n);
            std::memcpy(p, &h, sizeof h);
            p += sizeof h;
        } else {
            *p++ = ACS_TAPE_STRING;
            uint32_t n32 = static_cast<uint32_t>(n);
            std::memcpy(p, &n32, sizeof n32);
            p += sizeof n32;
        }
        std::memcpy(p, s.data(), n);
        len += need;
        return true;
    }
    void integer(int64_t i)
    {
        tag(ACS_TAPE_INT);
        put(&i, sizeof i);
    }
    void number(double d)
    {
        if (d == std::floor(d) && std::fabs(d) <= 9007199254740992.0) // 2^53: exact as an integer
            return integer(static_cast<int64_t>(d));
        tag(ACS_TAPE_DOUBLE);
        put(&d, sizeof d);
    }
};

bool put_value(tape &t, ondemand::value v, int depth);

// Deeper documents are refused: the walk recurses, and no API answer nests anywhere near this.
constexpr int max_depth = 512;

void put_parsed_number(tape &t, ondemand::number n)
{
    switch (n.get_number_type()) {
    case ondemand::number_type::signed_integer:
        t.integer(n.get_int64());
        break;
    case ondemand::number_type::unsigned_integer: // >= 2^63: past a Lua integer
        t.number(static_cast<double>(n.get_uint64()));
        break;
    default:
        t.number(n.get_double());
        break;
    }
}

// The number's own text, without the white space that may follow it.
std::string_view number_text(std::string_view raw)
{
    size_t end = raw.find_first_of(" \t\r\n");
    return end == std::string_view::npos ? raw : raw.substr(0, end);
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// JSON's number grammar, which simdjson's number parser is laxer than (it takes "012"):
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
bool strict_number(std::string_view s)
{
    size_t i = 0, n = s.size();
    if (i < n && s[i] == '-')
        i++;
    if (i < n && s[i] == '0')
        i++;
    else if (i < n && is_digit(s[i]))
        while (i < n && is_digit(s[i]))
            i++;
    else
        return false;
    if (i < n && s[i] == '.') {
        if (++i >= n || !is_digit(s[i]))
            return false;
        while (i < n && is_digit(s[i]))
            i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        if (++i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i >= n || !is_digit(s[i]))
            return false;
        while (i < n && is_digit(s[i]))
            i++;
    }
    return i == n;
}

// Integers beyond 64 bits fail get_number(): they become doubles, as in any JSON decoder
// for Lua.
bool put_big_number(tape &t, std::string_view raw)
{
    std::string text(raw);
    char *end = nullptr;
    double d = std::strtod(text.c_str(), &end);
    if (end != text.c_str() + text.size())
        return false;
    t.number(d);
    return true;
}

std::string_view token_of(ondemand::value &v) { return v.raw_json_token(); }
std::string_view token_of(ondemand::document &d)
{
    std::string_view raw;
    return d.raw_json_token().get(raw) == SUCCESS ? raw : std::string_view();
}

template <typename V> bool put_number(tape &t, V &v)
{
    std::string_view text = number_text(token_of(v));
    if (!strict_number(text))
        return false;
    ondemand::number n;
    if (v.get_number().get(n) == SUCCESS) {
        put_parsed_number(t, n);
        return true;
    }
    return put_big_number(t, text);
}

// An object or an array: its count, known only at the end, then each item as
// put_item writes it (a key and a value, or a value).
template <typename Items, typename PutItem>
bool put_container(tape &t, acs_tape_tag tag, Items items, int depth, PutItem put_item)
{
    if (++depth > max_depth)
        return false;
    size_t at = t.tag_count(tag);
    uint32_t n = 0;
    for (auto item : items) {
        if (!put_item(item, depth))
            return false;
        n++;
    }
    t.patch(at, n);
    return true;
}

bool put_field(tape &t, simdjson_result<ondemand::field> field, int depth)
{
    std::string_view key;
    ondemand::value v;
    return field.unescaped_key().get(key) == SUCCESS && t.str(key) &&
           field.value().get(v) == SUCCESS && put_value(t, v, depth);
}

bool put_element(tape &t, simdjson_result<ondemand::value> element, int depth)
{
    ondemand::value v;
    return element.get(v) == SUCCESS && put_value(t, v, depth);
}

bool put_value(tape &t, ondemand::value v, int depth)
{
    ondemand::json_type type;
    if (v.type().get(type) != SUCCESS)
        return false;
    switch (type) {
    case ondemand::json_type::object: {
        ondemand::object o;
        return v.get_object().get(o) == SUCCESS &&
               put_container(t, ACS_TAPE_OBJECT, o, depth,
                             [&t](auto field, int d) { return put_field(t, field, d); });
    }
    case ondemand::json_type::array: {
        ondemand::array a;
        return v.get_array().get(a) == SUCCESS &&
               put_container(t, ACS_TAPE_ARRAY, a, depth,
                             [&t](auto element, int d) { return put_element(t, element, d); });
    }
    case ondemand::json_type::string: {
        std::string_view s;
        return v.get_string().get(s) == SUCCESS && t.str(s);
    }
    case ondemand::json_type::number:
        return put_number(t, v);
    case ondemand::json_type::boolean: {
        bool b;
        if (v.get_bool().get(b) != SUCCESS)
            return false;
        t.tag(b ? ACS_TAPE_TRUE : ACS_TAPE_FALSE);
        return true;
    }
    case ondemand::json_type::null: {
        bool null = false;
        if (v.is_null().get(null) != SUCCESS || !null)
            return false;
        t.tag(ACS_TAPE_NULL);
        return true;
    }
    }
    return false;
}

// The whole document: a scalar at the top is allowed (as lua-cjson allows it), and nothing
// but white space may follow the value.
bool put_document(tape &t, ondemand::document &doc)
{
    ondemand::json_type type;
    if (doc.type().get(type) != SUCCESS)
        return false;
    bool ok;
    if (type == ondemand::json_type::object || type == ondemand::json_type::array) {
        ondemand::value v;
        ok = doc.get_value().get(v) == SUCCESS && put_value(t, v, 0);
    } else if (type == ondemand::json_type::string) {
        std::string_view s;
        ok = doc.get_string().get(s) == SUCCESS && t.str(s);
    } else if (type == ondemand::json_type::number) {
        ok = put_number(t, doc);
    } else if (type == ondemand::json_type::boolean) {
        bool b = false;
        ok = doc.get_bool().get(b) == SUCCESS;
        t.tag(b ? ACS_TAPE_TRUE : ACS_TAPE_FALSE);
    } else {
        bool null = false;
        ok = doc.is_null().get(null) == SUCCESS && null;
        t.tag(ACS_TAPE_NULL);
    }
    const char *rest;
    return ok && doc.current_location().get(rest) == OUT_OF_BOUNDS && !t.oom;
}

// This thread's parser, or null: a pointer to a pool's (never owned here).
thread_local ondemand::parser *thread_parser = nullptr;

// A kept parser's buffers grow to the largest text it parsed: bigger ones get a parser of
// their own, so an idle worker does not hold on to a huge answer's worth of memory.
constexpr size_t kept_max_len = 256 * 1024;

} // namespace

struct acs_json_parser {
    ondemand::parser parser;
};

extern "C" acs_json_parser *acs_json_parser_new(void)
{
    return new (std::nothrow) acs_json_parser();
}

extern "C" void acs_json_parser_free(acs_json_parser *p)
{
    delete p;
}

extern "C" void acs_json_use_parser(acs_json_parser *p)
{
    thread_parser = p ? &p->parser : nullptr;
}

extern "C" uint32_t acs_json_hash(const char *s, size_t len)
{
    // eight bytes per step: these hashes only pick a cache slot, so speed beats quality
    uint64_t h = len * 0x9E3779B97F4A7C15ull;
    for (; len >= 8; s += 8, len -= 8) {
        uint64_t w;
        std::memcpy(&w, s, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    if (len) {
        uint64_t w = 0;
        std::memcpy(&w, s, len);
        h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
        h ^= h >> 29;
    }
    return static_cast<uint32_t>(h ^ (h >> 32));
}

extern "C" acs_json *acs_json_parse(const char *text, size_t len, size_t readable)
{
    if (!text || !len)
        return nullptr;
    // simdjson reads up to SIMDJSON_PADDING bytes past the end: copy when the caller's
    // buffer has no such room
    char *copy = nullptr;
    if (readable < len + SIMDJSON_PADDING) {
        if (!(copy = static_cast<char *>(std::malloc(len + SIMDJSON_PADDING))))
            return nullptr;
        std::memcpy(copy, text, len);
        std::memset(copy + len, 0, SIMDJSON_PADDING);
        text = copy;
    }
    tape t;
    t.reserve(len + len / 2); // tapes run up to half longer than their text
    bool ok = false;
    {
        ondemand::parser own; // allocates nothing until used
        ondemand::parser &parser = thread_parser && len <= kept_max_len ? *thread_parser : own;
        ondemand::document doc;
        if (parser.iterate(padded_string_view(text, len, len + SIMDJSON_PADDING)).get(doc) ==
            SUCCESS)
            ok = put_document(t, doc);
    }
    std::free(copy);
    acs_json *out = ok ? static_cast<acs_json *>(std::malloc(sizeof *out)) : nullptr;
    if (!out) {
        std::free(t.data);
        return nullptr;
    }
    // it waits in memory until delivery, maybe behind a thousand others: no slack
    if (t.cap - t.len > 256) {
        if (void *fit = std::realloc(t.data, t.len ? t.len : 1))
            t.data = static_cast<unsigned char *>(fit);
    }
    out->data = t.data;
    out->len = t.len;
    return out;
}

extern "C" void acs_json_free(acs_json *doc)
{
    if (doc) {
        std::free(doc->data);
        std::free(doc);
    }
}
