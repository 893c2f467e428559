/* A native reader of AWS Price List products (issue 14: ingest at >= 50,000 products/s).
 *
 * scan_product(text) reads one GetProducts PriceList string and returns what pricing.providers.aws's
 * rows_from_products needs of it (its "digest": see Digest and digest() there, which computes the same
 * tuple from the msgspec structs), or None when the product is not in the regular shape this reader takes.
 * None is never an error: the caller then decodes the product with the msgspec structs, which say
 * what is wrong with it, if anything. So this reader only has to be exact where it answers:
 *
 * - the whole text is checked as JSON (RFC 8259: every value, string escape and number, nothing after the
 *   top-level value; a \u escape of a UTF-16 surrogate only as a pair, as msgspec takes it); anything
 *   else is None, as is text that is not ASCII or nests deeper than 64 levels;
 * - it answers only when every field the structs read has the type they take (text or null for the text
 *   fields, an object for the nested ones, the price a plain decimal string or null), no such field
 *   appears twice in one object, no key of a term or price-dimension dictionary appears twice, and no key
 *   or text value it reads holds an escape (so that every key is compared and every value taken as
 *   written);
 * - a price is read only when it is a decimal string without sign or exponent whose digits, read as one
 *   integer, are at most 2**53, with at most 22 after the point: its value is then that integer divided by
 *   a power of ten, both exact in a double, so the quotient is the correctly rounded value, which is what
 *   Python's float() and msgspec give.
 *
 * The digest: (sku, capacitystatus, marketoption, usagetype, operatingSystem, licenseModel,
 * preInstalledSw, tenancy, instanceType, regionCode, vcpu, memory, on_demand, reserved, not_standard)
 * with on_demand None for no on-demand term, else (number of on-demand terms, the first term's
 * effectiveDate, the USD price of its first dimension whose unit is "Hrs" or "Hours", or None);
 * reserved a list, per reserved term whose OfferingClass is "standard" in order, of (LeaseContractLength,
 * PurchaseOption, effectiveDate, offerTermCode, hourly USD, upfront USD) where the amounts are the sums
 * over the term's dimensions in order ("Quantity" ones upfront, the others hourly) and hourly is None
 * when any of the term's dimensions has no USD price (the term is unpriced; upfront is then 0.0);
 * not_standard counts the other reserved terms.
 *
 * Short text values are shared through a small cache of str objects (a value repeated across products,
 * such as an offer term code or a date, is one object).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define MAX_DEPTH 64
#define MAX_KEYS 64
#define CACHE_SLOTS 4096
#define CACHE_MAX_LENGTH 48

#if defined(__GNUC__) || defined(__clang__)
#define ALWAYS_INLINE __attribute__((always_inline))
#else
#define ALWAYS_INLINE
#endif

typedef struct {
    const char *p;
    const char *end;
    int depth;
} Scan;

typedef struct {
    const char *start;
    Py_ssize_t length;
    int present; /* 0: absent, 1: text, 2: null */
} Text;

/* ------------------------------------------------------------------------------------------------ */
/* the string cache */

static PyObject *cache[CACHE_SLOTS];

static PyObject *
make_text(const char *start, Py_ssize_t length, int cached)
{
    if (!cached || length > CACHE_MAX_LENGTH) {
        return PyUnicode_FromStringAndSize(start, length); /* ASCII: checked before scanning */
    }
    uint32_t hash = 2166136261u;
    for (Py_ssize_t i = 0; i < length; i++) {
        hash = (hash ^ (unsigned char)start[i]) * 16777619u;
    }
    PyObject **slot = &cache[hash & (CACHE_SLOTS - 1)];
    PyObject *held = *slot;
    if (held != NULL && PyUnicode_GET_LENGTH(held) == length &&
        memcmp(PyUnicode_DATA(held), start, (size_t)length) == 0) {
        Py_INCREF(held);
        return held;
    }
    PyObject *made = PyUnicode_FromStringAndSize(start, length);
    if (made == NULL) {
        return NULL;
    }
    Py_INCREF(made);
    Py_XSETREF(*slot, made);
    return made;
}

static PyObject *
text_or_none(const Text *text, int cached)
{
    if (text->present == 1) {
        return make_text(text->start, text->length, cached);
    }
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------------------------------------ */
/* JSON scanning: every function returns 0 when it read a well-formed value of the shape asked for and
 * -1 otherwise (not JSON, another shape: the caller answers None) */

static inline void
skip_space(Scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t')) {
        s->p++;
    }
}

/* at the 'u' of a \u escape: its four hex digits' value, or -1 */
static inline int
escaped_unit(const char *p, const char *end)
{
    if (end - p < 5 || *p != 'u') {
        return -1;
    }
    int unit = 0;
    for (int i = 1; i <= 4; i++) {
        char c = p[i];
        int value = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                           : -1;
        if (value < 0) {
            return -1;
        }
        unit = unit * 16 + value;
    }
    return unit;
}

/* at a '"': the string's content (start, length) and whether it holds an escape */
static inline ALWAYS_INLINE int
scan_string(Scan *s, const char **start, Py_ssize_t *length, int *escaped)
{
    const char *p = s->p + 1;
    const char *end = s->end;
    int escapes = 0;
    *start = p;
    while (p < end) {
#if defined(__SSE2__)
        /* sixteen bytes at a time up to the first quote, backslash or control character (the text is
         * ASCII: a signed compare below 0x20 finds the control characters) */
        while (end - p >= 16) {
            __m128i chunk = _mm_loadu_si128((const __m128i *)(const void *)p);
            __m128i stops = _mm_or_si128(
                _mm_or_si128(_mm_cmpeq_epi8(chunk, _mm_set1_epi8('"')), _mm_cmpeq_epi8(chunk, _mm_set1_epi8('\\'))),
                _mm_cmplt_epi8(chunk, _mm_set1_epi8(0x20)));
            int found = _mm_movemask_epi8(stops);
            if (found) {
                p += __builtin_ctz((unsigned int)found);
                goto special;
            }
            p += 16;
        }
#endif
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        /* eight bytes at a time up to the first quote, backslash or control character (the text is
         * ASCII, every byte below 0x80): the lowest flagged byte of each test is exact */
        while (end - p >= 8) {
            uint64_t word;
            memcpy(&word, p, 8);
            uint64_t quote = word ^ 0x2222222222222222ULL;
            uint64_t backslash = word ^ 0x5C5C5C5C5C5C5C5CULL;
            uint64_t found = ((quote - 0x0101010101010101ULL) & ~quote) |
                             ((backslash - 0x0101010101010101ULL) & ~backslash) |
                             ((word - 0x2020202020202020ULL) & ~word);
            found &= 0x8080808080808080ULL;
            if (found) {
                p += __builtin_ctzll(found) >> 3;
                break;
            }
            p += 8;
        }
        if (p >= end) {
            return -1;
        }
#endif
#if defined(__SSE2__)
    special:;
#endif
        unsigned char c = (unsigned char)*p;
        if (c == '"') {
            *length = p - *start;
            *escaped = escapes;
            s->p = p + 1;
            return 0;
        }
        if (c == '\\') {
            escapes = 1;
            if (++p >= end) {
                return -1;
            }
            c = (unsigned char)*p;
            if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' || c == 'r' ||
                c == 't') {
                p++;
                continue;
            }
            if (c == 'u') {
                /* four hex digits; a UTF-16 surrogate only as a high one escaped right before a low one
                 * (msgspec refuses a lone surrogate) */
                int unit = escaped_unit(p, end);
                if (unit < 0 || (unit >= 0xDC00 && unit <= 0xDFFF)) {
                    return -1;
                }
                if (unit >= 0xD800 && unit <= 0xDBFF) {
                    int low = end - p >= 6 && p[5] == '\\' ? escaped_unit(p + 6, end) : -1;
                    if (low < 0xDC00 || low > 0xDFFF) {
                        return -1;
                    }
                    p += 6;
                }
                p += 5;
                continue;
            }
            return -1;
        }
        if (c < 0x20) {
            return -1;
        }
        p++;
    }
    return -1;
}

static int
scan_number(Scan *s)
{
    const char *p = s->p;
    const char *end = s->end;
    if (p < end && *p == '-') {
        p++;
    }
    if (p >= end) {
        return -1;
    }
    if (*p == '0') {
        p++;
    }
    else if (*p >= '1' && *p <= '9') {
        while (p < end && *p >= '0' && *p <= '9') {
            p++;
        }
    }
    else {
        return -1;
    }
    if (p < end && *p == '.') {
        p++;
        if (p >= end || *p < '0' || *p > '9') {
            return -1;
        }
        while (p < end && *p >= '0' && *p <= '9') {
            p++;
        }
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-')) {
            p++;
        }
        if (p >= end || *p < '0' || *p > '9') {
            return -1;
        }
        while (p < end && *p >= '0' && *p <= '9') {
            p++;
        }
    }
    s->p = p;
    return 0;
}

static int
scan_literal(Scan *s, const char *word, Py_ssize_t length)
{
    if (s->end - s->p < length || memcmp(s->p, word, (size_t)length) != 0) {
        return -1;
    }
    s->p += length;
    return 0;
}

static int skip_value(Scan *s);

/* at a member's key: the key read, and the ':' after it; 1, or -1 */
static inline ALWAYS_INLINE int
read_key(Scan *s, const char **key, Py_ssize_t *key_length, int *escaped)
{
    if (s->p >= s->end || *s->p != '"' || scan_string(s, key, key_length, escaped)) {
        return -1;
    }
    skip_space(s);
    if (s->p >= s->end || *s->p != ':') {
        return -1;
    }
    s->p++;
    skip_space(s);
    return 1;
}

/* at a '{' or '[': 1 with the scanner at the first member or element, 0 for an empty one (read) */
static inline ALWAYS_INLINE int
open_container(Scan *s, char close)
{
    if (++s->depth > MAX_DEPTH) {
        return -1;
    }
    s->p++;
    skip_space(s);
    if (s->p < s->end && *s->p == close) {
        s->p++;
        s->depth--;
        return 0;
    }
    return 1;
}

/* after a member or element: 1 at a ',' (read), 0 at the container's end ``close`` (read), else -1 */
static inline ALWAYS_INLINE int
after_value(Scan *s, char close)
{
    skip_space(s);
    if (s->p >= s->end) {
        return -1;
    }
    if (*s->p == close) {
        s->p++;
        s->depth--;
        return 0;
    }
    if (*s->p != ',') {
        return -1;
    }
    s->p++;
    skip_space(s);
    return 1;
}

/* at a '{': 1 with the first member's key read (and the ':' after it), 0 for an empty object (read) */
static inline ALWAYS_INLINE int
object_first(Scan *s, const char **key, Py_ssize_t *key_length, int *escaped)
{
    int more = open_container(s, '}');
    return more == 1 ? read_key(s, key, key_length, escaped) : more;
}

/* after a member's value: 1 with the next member's key read, 0 at the object's end (read) */
static inline ALWAYS_INLINE int
object_next(Scan *s, const char **key, Py_ssize_t *key_length, int *escaped)
{
    int more = after_value(s, '}');
    return more == 1 ? read_key(s, key, key_length, escaped) : more;
}

/* Reads the object at s->p: member(s, key, key_length, escaped, state) for each member, with the scanner at
 * the member's value, which the callback reads (skip_value for a member it does not want). Each walker
 * below is one such callback; the loop is inlined into each, so the callback is a direct call. */
typedef int (*Member)(Scan *s, const char *key, Py_ssize_t key_length, int escaped, void *state);

static inline ALWAYS_INLINE int
read_object(Scan *s, Member member, void *state)
{
    if (s->p >= s->end || *s->p != '{') {
        return -1;
    }
    const char *key;
    Py_ssize_t key_length;
    int escaped;
    int more = object_first(s, &key, &key_length, &escaped);
    while (more == 1) {
        int failed = member(s, key, key_length, escaped, state);
        if (failed) {
            return failed;
        }
        more = object_next(s, &key, &key_length, &escaped);
    }
    return more;
}

/* read_object for a member that may appear once: a second one is -1 */
static inline ALWAYS_INLINE int
read_object_once(Scan *s, int *seen, Member member, void *state)
{
    if (*seen) {
        return -1;
    }
    *seen = 1;
    return read_object(s, member, state);
}

static int
skip_member(Scan *s, const char *key, Py_ssize_t key_length, int escaped, void *state)
{
    return skip_value(s);
}

static int
skip_value(Scan *s)
{
    skip_space(s);
    if (s->p >= s->end) {
        return -1;
    }
    switch (*s->p) {
    case '"': {
        const char *start;
        Py_ssize_t length;
        int escaped;
        return scan_string(s, &start, &length, &escaped);
    }
    case '{':
        return read_object(s, skip_member, NULL);
    case '[': {
        int more = open_container(s, ']');
        while (more == 1) {
            if (skip_value(s)) {
                return -1;
            }
            more = after_value(s, ']');
        }
        return more;
    }
    case 't':
        return scan_literal(s, "true", 4);
    case 'f':
        return scan_literal(s, "false", 5);
    case 'n':
        return scan_literal(s, "null", 4);
    default:
        return scan_number(s);
    }
}

/* a text field: a string without escapes (present 1) or null (present 2); anything else -1 */
static int
read_text(Scan *s, Text *out)
{
    if (out->present) {
        return -1; /* the field twice */
    }
    if (s->p < s->end && *s->p == '"') {
        int escaped;
        if (scan_string(s, &out->start, &out->length, &escaped) || escaped) {
            return -1;
        }
        out->present = 1;
        return 0;
    }
    if (scan_literal(s, "null", 4)) {
        return -1;
    }
    out->present = 2;
    return 0;
}

static inline int
key_is(const char *key, Py_ssize_t length, const char *name, Py_ssize_t name_length)
{
    return length == name_length && memcmp(key, name, (size_t)length) == 0;
}
#define KEY_IS(name) key_is(key, key_length, name, (Py_ssize_t)sizeof(name) - 1)

/* ------------------------------------------------------------------------------------------------ */
/* the price list's objects */

static const double POWERS_OF_TEN[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                         1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                         1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* pricePerUnit: {"USD": "<decimal>" | null} and no other key */
typedef struct {
    int seen, is_price; /* is_price 1 with value; 0 for null or no USD */
    double value;
} Price;

static int
price_member(Scan *s, const char *key, Py_ssize_t key_length, int escaped, void *state)
{
    Price *price = state;
    if (escaped || !KEY_IS("USD") || price->seen) {
        return -1;
    }
    price->seen = 1;
    if (s->p >= s->end || *s->p != '"') {
        return scan_literal(s, "null", 4);
    }
    const char *start;
    Py_ssize_t length;
    if (scan_string(s, &start, &length, &escaped) || escaped || length == 0) {
        return -1;
    }
    uint64_t digits = 0;
    int count = 0, decimals = 0, point = 0;
    if (length > 1 && start[0] == '0' && start[1] != '.') {
        return -1; /* a leading zero */
    }
    for (Py_ssize_t i = 0; i < length; i++) {
        char c = start[i];
        if (c >= '0' && c <= '9') {
            if ((digits != 0 || c != '0') && ++count > 19) { /* (no overflow of 64 bits) */
                return -1;
            }
            digits = digits * 10 + (uint64_t)(c - '0');
            decimals += point;
        }
        else if (c == '.' && !point && i > 0 && i + 1 < length) {
            point = 1;
        }
        else {
            return -1;
        }
    }
    if (decimals > 22 || digits > (UINT64_C(1) << 53)) {
        return -1;
    }
    price->value = (double)digits / POWERS_OF_TEN[decimals];
    price->is_price = 1;
    return 0;
}

enum { UNIT_OTHER, UNIT_NONE, UNIT_HOURS, UNIT_QUANTITY };

/* one price dimension: its unit and USD price (none without pricePerUnit) */
typedef struct {
    Text unit;
    Price price;
    int priced_seen;
} Dimension;

static int
dimension_member(Scan *s, const char *key, Py_ssize_t key_length, int escaped, void *state)
{
    Dimension *dimension = state;
    if (escaped) {
        return -1;
    }
    if (KEY_IS("unit")) {
        return read_text(s, &dimension->unit);
    }
    if (KEY_IS("pricePerUnit")) {
        return read_object_once(s, &dimension->priced_seen, price_member, &dimension->price);
    }
    return skip_value(s);
}

static int
unit_of(const Text *unit)
{
    if (unit->present != 1) {
        return UNIT_NONE;
    }
    if (key_is(unit->start, unit->length, "Hrs", 3) || key_is(unit->start, unit->length, "Hours", 5)) {
        return UNIT_HOURS;
    }
    if (key_is(unit->start, unit->length, "Quantity", 8)) {
        return UNIT_QUANTITY;
    }
    return UNIT_OTHER;
}

typedef struct {
    Text date, code, length, option, offering;
    int dimensions_seen, attributes_seen;
    /* an on-demand term: the first "Hrs"/"Hours" dimension's price */
    int hourly_found, hourly_is_price;
    double hourly_price;
    /* a reserved term: the sums, and whether a dimension had no USD price */
    int unpriced;
    double hourly_usd, upfront_usd;
} Term;

/* a dictionary's keys so far (a key twice is -1) */
typedef struct {
    const char *start[MAX_KEYS];
    Py_ssize_t length[MAX_KEYS];
    int count;
} Keys;

static int
new_key(Keys *keys, const char *key, Py_ssize_t key_length, int escaped)
{
    if (escaped || keys->count >= MAX_KEYS) {
        return -1;
    }
    for (int i = 0; i < keys->count; i++) {
        if (keys->length[i] == key_length && memcmp(keys->start[i], key, (size_t)key_length) == 0) {
            return -1;
        }
    }
    keys->start[keys->count] = key;
    keys->length[keys->count] = key_length;
    keys->count++;
    return 0;
}

typedef struct {
    Keys keys;
    Term *term;
} Dimensions;

static int
dimensions_member(Scan *s, const char *key, Py_ssize_t key_length, int escaped, void *state)
{
    Dimensions *dimensions = state;
    Term *term = dimensions->term;
    Dimension dimension;
    memset(&dimension, 0, sizeof(dimension));
    if (new_key(&dimensions->keys, key, key_length, escaped) ||
        read_object(s, dimension_member, &dimension)) {
        return -1;
    }
    int unit = unit_of(&dimension.unit);
    int is_price = dimension.price.is_price;
    double value = dimension.price.value;
    if (unit == UNIT_HOURS && !term->hourly_found) {
        term->hourly_found = 1;
        term->hourly_is_price = is_price;
        term->hourly_price = value;
    }
    if (!term->unpriced) {
        if (!is_price) {
            term->unpriced = 1;
        }
        else if (unit == UNIT_QUANTITY) {
            term->upfront_usd += value;
        }
        else {
            term->hourly_usd += value;
        }
    }
    return 0;
}

static int
term_attributes_member(Scan *s, const char *key, Py_ssize_t key_length, int escaped, void *state)
{
    Term *term = state;
    if (escaped) {
        return -1;
    }
    if (KEY_IS("LeaseContractLength")) {
        return read_text(s, &term->length);
    }
    if (KEY_IS("OfferingClass")) {
        return read_text(s, &term->offering);
    }
    if (KEY_IS("PurchaseOption")) {
        return read_text(s, &term->option);
    }
    return skip_value(s);
}

static int
term_member(Scan *s, const char *key, Py_ssize_t key_length, int escaped, void *state)
{
    Term *term = state;
    if (escaped) {
        return -1;
    }
    if (KEY_IS("priceDimensions")) {
        Dimensions dimensions;
        dimensions.keys.count = 0;
        dimensions.term = term;
        return read_object_once(s, &term->dimensions_seen, dimensions_member, &dimensions);
    }
    if (KEY_IS("effectiveDate")) {
        return read_text(s, &term->date);
    }
    if (KEY_IS("offerTermCode")) {
        return read_text(s, &term->code) || term->code.present != 1; /* text, not null */
    }
    if (KEY_IS("termAttributes")) {
        return read_object_once(s, &term->attributes_seen, term_attributes_member, term);
    }
    return skip_value(s);
}

static int
read_term(Scan *s, Term *term)
{
    memset(term, 0, sizeof(*term));
    return read_object(s, term_member, term);
}

/* a term's offerTermCode: "" when absent (the structs' default) */
static PyObject *
term_code(const Term *term)
{
    if (term->code.present == 1) {
        return make_text(term->code.start, term->code.length, 1);
    }
    return PyUnicode_FromStringAndSize("", 0);
}

/* OnDemand: the number of terms and the first one */
typedef struct {
    Keys keys;
    Term first;
} OnDemand;

static int
on_demand_member(Scan *s, const char *key, Py_ssize_t key_length, int escaped, void *state)
{
    OnDemand *on_demand = state;
    Term other;
    if (new_key(&on_demand->keys, key, key_length, escaped)) {
        return -1;
    }
    return read_term(s, on_demand->keys.count == 1 ? &on_demand->first : &other);
}

/* *made: None (no on-demand term) or (count, date, price) */
static int
read_on_demand(Scan *s, PyObject **made)
{
    if (*made != NULL) {
        return -1; /* OnDemand twice */
    }
    OnDemand on_demand;
    on_demand.keys.count = 0;
    if (read_object(s, on_demand_member, &on_demand)) {
        return -1;
    }
    if (on_demand.keys.count == 0) {
        *made = Py_NewRef(Py_None);
        return 0;
    }
    const Term *first = &on_demand.first;
    PyObject *price;
    if (first->hourly_found && first->hourly_is_price) {
        price = PyFloat_FromDouble(first->hourly_price);
    }
    else {
        price = Py_NewRef(Py_None);
    }
    PyObject *date = text_or_none(&first->date, 1);
    if (price == NULL || date == NULL) {
        Py_XDECREF(price);
        Py_XDECREF(date);
        return -2;
    }
    *made = Py_BuildValue("(nNN)", (Py_ssize_t)on_demand.keys.count, date, price);
    return *made == NULL ? -2 : 0;
}

/* Reserved: the standard terms' tuples appended to the list, the others counted */
typedef struct {
    Keys keys;
    PyObject *list;
    Py_ssize_t *not_standard;
} Reserved;

static int
reserved_member(Scan *s, const char *key, Py_ssize_t key_length, int escaped, void *state)
{
    Reserved *reserved = state;
    Term term;
    if (new_key(&reserved->keys, key, key_length, escaped) || read_term(s, &term)) {
        return -1;
    }
    if (term.offering.present != 1 || !key_is(term.offering.start, term.offering.length, "standard", 8)) {
        (*reserved->not_standard)++;
        return 0;
    }
    PyObject *hourly = term.unpriced ? Py_NewRef(Py_None) : PyFloat_FromDouble(term.hourly_usd);
    PyObject *row = Py_BuildValue(
        "(NNNNNN)", text_or_none(&term.length, 1), text_or_none(&term.option, 1), text_or_none(&term.date, 1),
        term_code(&term), hourly, PyFloat_FromDouble(term.unpriced ? 0.0 : term.upfront_usd));
    if (row == NULL) {
        return -2;
    }
    int appended = PyList_Append(reserved->list, row);
    Py_DECREF(row);
    return appended ? -2 : 0;
}

static int
read_reserved(Scan *s, PyObject **list, Py_ssize_t *not_standard)
{
    if (*list != NULL) {
        return -1; /* Reserved twice */
    }
    *list = PyList_New(0);
    if (*list == NULL) {
        return -2;
    }
    Reserved reserved;
    reserved.keys.count = 0;
    reserved.list = *list;
    reserved.not_standard = not_standard;
    return read_object(s, reserved_member, &reserved);
}

static const char *const ATTRIBUTES[] = {
    "capacitystatus", "marketoption", "usagetype",    "operatingSystem", "licenseModel", "preInstalledSw",
    "tenancy",        "instanceType", "regionCode",   "vcpu",            "memory",
};
static const Py_ssize_t ATTRIBUTE_LENGTHS[] = {14, 12, 9, 15, 12, 14, 7, 12, 10, 4, 6};
#define ATTRIBUTE_COUNT 11
#define PRE_INSTALLED_SW 5

static int
attributes_member(Scan *s, const char *key, Py_ssize_t key_length, int escaped, void *state)
{
    Text *attributes = state;
    if (escaped) {
        return -1;
    }
    for (int i = 0; i < ATTRIBUTE_COUNT; i++) {
        if (key_is(key, key_length, ATTRIBUTES[i], ATTRIBUTE_LENGTHS[i])) {
            return read_text(s, &attributes[i]);
        }
    }
    return skip_value(s);
}

typedef struct {
    Text sku;
    Text attributes[ATTRIBUTE_COUNT];
    int attributes_seen, product_seen, terms_seen;
    PyObject *on_demand; /* owned */
    PyObject *reserved;  /* owned */
    Py_ssize_t not_standard;
} Product;

static int
product_member(Scan *s, const char *key, Py_ssize_t key_length, int escaped, void *state)
{
    Product *product = state;
    if (escaped) {
        return -1;
    }
    if (KEY_IS("sku")) {
        return read_text(s, &product->sku) || product->sku.present != 1; /* text, not null */
    }
    if (KEY_IS("attributes")) {
        return read_object_once(s, &product->attributes_seen, attributes_member, product->attributes);
    }
    return skip_value(s);
}

static int
terms_member(Scan *s, const char *key, Py_ssize_t key_length, int escaped, void *state)
{
    Product *product = state;
    if (escaped) {
        return -1;
    }
    if (KEY_IS("OnDemand")) {
        return read_on_demand(s, &product->on_demand);
    }
    if (KEY_IS("Reserved")) {
        return read_reserved(s, &product->reserved, &product->not_standard);
    }
    return skip_value(s);
}

static int
item_member(Scan *s, const char *key, Py_ssize_t key_length, int escaped, void *state)
{
    Product *product = state;
    if (escaped) {
        return -1;
    }
    if (KEY_IS("product")) {
        return read_object_once(s, &product->product_seen, product_member, product);
    }
    if (KEY_IS("terms")) {
        return read_object_once(s, &product->terms_seen, terms_member, product);
    }
    return skip_value(s);
}

/* the whole item: 0 read, -1 not the regular shape, -2 a Python error (set) */
static int
read_item(Scan *s, Product *product)
{
    skip_space(s);
    int read = read_object(s, item_member, product);
    if (read) {
        return read;
    }
    skip_space(s);
    if (s->p != s->end || !product->product_seen || !product->attributes_seen || product->sku.present != 1) {
        return -1;
    }
    return 0;
}

static PyObject *
scan_product(PyObject *module, PyObject *text)
{
    if (!PyUnicode_Check(text)) {
        Py_RETURN_NONE;
    }
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(text) < 0) {
        return NULL;
    }
#endif
    if (!PyUnicode_IS_ASCII(text)) {
        Py_RETURN_NONE;
    }
    Scan s;
    s.p = (const char *)PyUnicode_DATA(text);
    s.end = s.p + PyUnicode_GET_LENGTH(text);
    s.depth = 0;
    Product product;
    memset(&product, 0, sizeof(product));
    int read = read_item(&s, &product);
    if (read != 0) {
        Py_XDECREF(product.on_demand);
        Py_XDECREF(product.reserved);
        if (read == -2) {
            return NULL;
        }
        Py_RETURN_NONE;
    }
    PyObject *digest = PyTuple_New(15);
    if (digest == NULL) {
        Py_XDECREF(product.on_demand);
        Py_XDECREF(product.reserved);
        return NULL;
    }
    PyObject *sku = make_text(product.sku.start, product.sku.length, 0);
    if (sku == NULL) {
        goto failed;
    }
    PyTuple_SET_ITEM(digest, 0, sku);
    for (int i = 0; i < ATTRIBUTE_COUNT; i++) {
        PyObject *value;
        if (i == PRE_INSTALLED_SW && product.attributes[i].present == 0) {
            value = PyUnicode_FromStringAndSize("NA", 2); /* the structs' default */
        }
        else {
            value = text_or_none(&product.attributes[i], 1);
        }
        if (value == NULL) {
            goto failed;
        }
        PyTuple_SET_ITEM(digest, 1 + i, value);
    }
    PyTuple_SET_ITEM(digest, 12, product.on_demand != NULL ? product.on_demand : Py_NewRef(Py_None));
    product.on_demand = NULL;
    PyTuple_SET_ITEM(digest, 13, product.reserved != NULL ? product.reserved : PyList_New(0));
    product.reserved = NULL;
    if (PyTuple_GET_ITEM(digest, 13) == NULL) {
        goto failed;
    }
    PyObject *count = PyLong_FromSsize_t(product.not_standard);
    if (count == NULL) {
        goto failed;
    }
    PyTuple_SET_ITEM(digest, 14, count);
    return digest;

failed:
    Py_XDECREF(product.on_demand);
    Py_XDECREF(product.reserved);
    Py_DECREF(digest); /* (a tuple's unset items are NULL, which its dealloc skips) */
    return NULL;
}

static PyMethodDef methods[] = {
    {"scan_product", scan_product, METH_O,
     "scan_product(text) -> the product's digest, or None when it is not in the regular shape."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "pricing._pricelist", "A native reader of AWS Price List products.", -1, methods,
};

PyMODINIT_FUNC
PyInit__pricelist(void)
{
    return PyModule_Create(&module);
}
