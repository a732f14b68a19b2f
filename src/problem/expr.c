/* fpentropy: compiled scalar expressions (parser -> simplified tree -> bytecode, symbolic derivatives).
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Why our own compiler: the library it replaces (libmatheval) silently dropped
 * bytes it did not know (a Unicode minus made `-x` into `x`), overflowed the
 * stack on long sums, wrote a temporary file per parse and looked every
 * variable up by name on every evaluation.  Here:
 *   - the text is checked against an explicit character set first, with the
 *     offending character and its column in the message;
 *   - length and nesting depth are bounded, and sums and products are n-ary
 *     nodes evaluated left to right, so a sum of 10^5 terms is one level deep
 *     and no recursion depends on the number of terms;
 *   - constants are substituted by value while parsing (so they fold), names
 *     are resolved once, and evaluation runs a small stack bytecode;
 *   - trees are simplified as they are built (constant folding, x+0, x*1,
 *     x*0 -> 0, x^1, --x), so derivatives come out simplified too;
 *   - a derivative shares the nodes of the expression it came from (one
 *     reference-counted arena), and every arena has a node budget, so no
 *     input can make memory grow without a clear error.
 */
#include <fpentropy/problem/expr.h>

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error_impl.h"

/* ------------------------------------------------------------------------ */
/* limits                                                                    */

/* Generous for hand-written and generated cases, small enough that every
 * recursion below stays far from the stack's end. */
#define MAX_TEXT FP_EXPR_MAX_LENGTH
#define MAX_DEPTH FP_EXPR_MAX_DEPTH
/* Nodes per arena and instructions per program: bounds the memory an
 * expression and its derivatives may take (a few hundred MB at most). */
#define MAX_NODES (4u << 20)
#define MAX_CODE (4u << 20)

/* ------------------------------------------------------------------------ */
/* constants: names and values plus a hash index, so that loading n
 * constants costs O(n), not O(n^2) per expression                          */

static uint64_t hash_name(const char *s, size_t n)
{
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (size_t i = 0; i < n; i++) {
    h ^= (unsigned char)s[i];
    h *= 1099511628211ull;
  }
  return h;
}

/* Position of `name` (length n) in c, or c->count when absent. */
static size_t constants_find(const fp_constants *c, const char *name, size_t n)
{
  if (!c || c->count == 0) return c ? c->count : 0;
  if (!c->index) { /* built by fp_constants_set; a hand-made struct has none */
    for (size_t i = 0; i < c->count; i++)
      if (strncmp(c->names[i], name, n) == 0 && c->names[i][n] == '\0') return i;
    return c->count;
  }
  size_t mask = c->index_cap - 1;
  for (size_t h = (size_t)hash_name(name, n) & mask;; h = (h + 1) & mask) {
    size_t slot = c->index[h];
    if (slot == 0) return c->count;
    const char *s = c->names[slot - 1];
    if (strncmp(s, name, n) == 0 && s[n] == '\0') return slot - 1;
  }
}

static int constants_reindex(fp_constants *c, size_t cap, fp_error *err)
{
  size_t *index = calloc(cap, sizeof *index);
  if (!index) return fp_fail(err, FP_ERR_NOMEM, "out of memory indexing %zu constants", c->count);
  for (size_t i = 0; i < c->count; i++) {
    size_t h = (size_t)hash_name(c->names[i], strlen(c->names[i])) & (cap - 1);
    while (index[h]) h = (h + 1) & (cap - 1);
    index[h] = i + 1;
  }
  free(c->index);
  c->index = index;
  c->index_cap = cap;
  return FP_OK;
}

static bool is_identifier(const char *s)
{
  if (!s || !(isalpha((unsigned char)*s) || *s == '_')) return false;
  for (const char *p = s + 1; *p; p++)
    if (!(isalnum((unsigned char)*p) || *p == '_')) return false;
  return true;
}

int fp_constants_set(fp_constants *c, const char *name, double value, fp_error *err)
{
  if (!c || !name) return fp_fail(err, FP_ERR_ARG, "fp_constants_set: NULL argument");
  if (!is_identifier(name))
    return fp_fail(err, FP_ERR_ARG, "constant name '%.64s' is not an identifier", name);
  static const char *const reserved[] = {"x", "y", "z", "t", "e", "pi"};
  for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
    if (strcmp(name, reserved[i]) == 0)
      return fp_fail(err, FP_ERR_ARG, "'%s' is reserved and cannot name a constant", name);
  size_t n = strlen(name);
  if (c->count > 0 && !c->index) {
    int rc = constants_reindex(c, 16, err);
    while (rc == FP_OK && c->index_cap < 2 * c->count) rc = constants_reindex(c, 2 * c->index_cap, err);
    if (rc != FP_OK) return rc;
  }
  size_t at = constants_find(c, name, n);
  if (at < c->count) {
    c->values[at] = value;
    return FP_OK;
  }
  if (2 * (c->count + 1) > c->index_cap) {
    int rc = constants_reindex(c, c->index_cap ? 2 * c->index_cap : 16, err);
    if (rc != FP_OK) return rc;
  }
  if (c->count == c->capacity) {
    size_t cap = c->capacity ? 2 * c->capacity : 8;
    char **names = realloc(c->names, cap * sizeof *names);
    if (!names) return fp_fail(err, FP_ERR_NOMEM, "out of memory adding constant '%s'", name);
    c->names = names;
    double *values = realloc(c->values, cap * sizeof *values);
    if (!values) return fp_fail(err, FP_ERR_NOMEM, "out of memory adding constant '%s'", name);
    c->values = values;
    c->capacity = cap;
  }
  char *copy = malloc(n + 1);
  if (!copy) return fp_fail(err, FP_ERR_NOMEM, "out of memory adding constant '%s'", name);
  memcpy(copy, name, n + 1);
  c->names[c->count] = copy;
  c->values[c->count] = value;
  size_t h = (size_t)hash_name(name, n) & (c->index_cap - 1);
  while (c->index[h]) h = (h + 1) & (c->index_cap - 1);
  c->index[h] = c->count + 1;
  c->count++;
  return FP_OK;
}

bool fp_constants_get(const fp_constants *c, const char *name, double *value)
{
  if (!c || !name) return false;
  size_t at = constants_find(c, name, strlen(name));
  if (at >= c->count) return false;
  if (value) *value = c->values[at];
  return true;
}

void fp_constants_clear(fp_constants *c)
{
  if (!c) return;
  for (size_t i = 0; i < c->count; i++) free(c->names[i]);
  free(c->names);
  free(c->values);
  free(c->index);
  memset(c, 0, sizeof *c);
}

/* ------------------------------------------------------------------------ */
/* functions                                                                 */

enum fn {
  F_EXP, F_LOG, F_SQRT, F_SIN, F_COS, F_TAN, F_COT, F_SEC, F_CSC, F_ASIN, F_ACOS, F_ATAN,
  F_ACOT, F_ASEC, F_ACSC, F_SINH, F_COSH, F_TANH, F_COTH, F_SECH, F_CSCH, F_ASINH, F_ACOSH,
  F_ATANH, F_ACOTH, F_ASECH, F_ACSCH, F_ABS, F_STEP, F_DELTA, F_NANDELTA, F_ERF, F_COUNT
};

static const char *const fn_names[F_COUNT] = {
    "exp",  "log",  "sqrt",  "sin",   "cos",   "tan",   "cot",   "sec",   "csc",
    "asin", "acos", "atan",  "acot",  "asec",  "acsc",  "sinh",  "cosh",  "tanh",
    "coth", "sech", "csch",  "asinh", "acosh", "atanh", "acoth", "asech", "acsch",
    "abs",  "step", "delta", "nandelta", "erf"};

static double apply(int fn, double u)
{
  switch (fn) {
  case F_EXP: return exp(u);
  case F_LOG: return log(u);
  case F_SQRT: return sqrt(u);
  case F_SIN: return sin(u);
  case F_COS: return cos(u);
  case F_TAN: return tan(u);
  case F_COT: return 1.0 / tan(u);
  case F_SEC: return 1.0 / cos(u);
  case F_CSC: return 1.0 / sin(u);
  case F_ASIN: return asin(u);
  case F_ACOS: return acos(u);
  case F_ATAN: return atan(u);
  case F_ACOT: return atan(1.0 / u);
  case F_ASEC: return acos(1.0 / u);
  case F_ACSC: return asin(1.0 / u);
  case F_SINH: return sinh(u);
  case F_COSH: return cosh(u);
  case F_TANH: return tanh(u);
  case F_COTH: return 1.0 / tanh(u);
  case F_SECH: return 1.0 / cosh(u);
  case F_CSCH: return 1.0 / sinh(u);
  case F_ASINH: return asinh(u);
  case F_ACOSH: return acosh(u);
  case F_ATANH: return atanh(u);
  case F_ACOTH: return atanh(1.0 / u);
  case F_ASECH: return acosh(1.0 / u);
  case F_ACSCH: return asinh(1.0 / u);
  case F_ABS: return fabs(u);
  case F_STEP: return u < 0.0 ? 0.0 : 1.0;
  case F_DELTA: return u == 0.0 ? INFINITY : 0.0;
  case F_NANDELTA: return u == 0.0 ? NAN : 0.0;
  default: return erf(u);
  }
}

bool fp_expr_is_function_name(const char *name)
{
  for (int f = 0; f < F_COUNT; f++)
    if (strcmp(name, fn_names[f]) == 0) return true;
  return false;
}

/* ------------------------------------------------------------------------ */
/* trees in a reference-counted arena                                       */

enum { VAR_T = FP_MAX_DIM }; /* variable slots: 0..2 coordinates, 3 time */

enum op { N_NUM, N_VAR, N_NEG, N_SUM, N_PROD, N_POW, N_FUN };

typedef struct node {
  unsigned char op;
  unsigned char fn;    /* N_FUN */
  unsigned char var;   /* N_VAR */
  double num;          /* N_NUM */
  size_t n;            /* children: SUM/PROD n, NEG/FUN 1, POW 2 */
  struct node **kid;
  unsigned char *inv;  /* SUM: term subtracted; PROD: factor divides */
} node;

typedef struct block {
  struct block *next;
  max_align_t data[];
} block;

typedef struct arena {
  int refs;
  size_t nodes;
  block *blocks;
} arena;

/* Everything a tree-building step needs; a failed allocation or a budget
 * overrun records the first error and makes every later step return NULL. */
typedef struct ctx {
  arena *a;
  fp_error *err;
  int rc;
} ctx;

static void arena_release(arena *a)
{
  if (!a || --a->refs > 0) return;
  for (block *b = a->blocks; b;) {
    block *next = b->next;
    free(b);
    b = next;
  }
  free(a);
}

static void *arena_alloc(ctx *k, size_t size)
{
  if (k->rc != FP_OK) return NULL;
  block *b = malloc(sizeof *b + size);
  if (!b) {
    k->rc = fp_fail(k->err, FP_ERR_NOMEM, "out of memory compiling an expression");
    return NULL;
  }
  b->next = k->a->blocks;
  k->a->blocks = b;
  return b->data;
}

static node *new_node(ctx *k, int op, size_t n)
{
  if (k->rc != FP_OK) return NULL;
  /* The budget counts child links too: a product's derivative has n terms of
   * n factors each, n^2 links for n nodes. */
  k->a->nodes += 1 + n;
  if (k->a->nodes > MAX_NODES) {
    k->rc = fp_fail(k->err, FP_ERR_EXPR,
                    "the expression (or its derivative) needs more than %u nodes and links; "
                    "simplify it",
                    MAX_NODES);
    return NULL;
  }
  /* One allocation per node: children and flags follow the node. */
  size_t size = sizeof(node) + n * (sizeof(node *) + 1);
  node *x = arena_alloc(k, size);
  if (!x) return NULL;
  memset(x, 0, sizeof *x);
  x->op = (unsigned char)op;
  x->n = n;
  x->kid = n ? (node **)(x + 1) : NULL;
  x->inv = n ? (unsigned char *)(x->kid + n) : NULL;
  if (n) memset(x->inv, 0, n);
  return x;
}

static bool is_num(const node *x, double v) { return x && x->op == N_NUM && x->num == v; }

static node *mk_num(ctx *k, double v)
{
  node *x = new_node(k, N_NUM, 0);
  if (x) x->num = v;
  return x;
}

static node *mk_var(ctx *k, int var)
{
  node *x = new_node(k, N_VAR, 0);
  if (x) x->var = (unsigned char)var;
  return x;
}

static node *mk_neg(ctx *k, node *a)
{
  if (!a) return NULL;
  if (a->op == N_NUM) return mk_num(k, -a->num);
  if (a->op == N_NEG) return a->kid[0];
  node *x = new_node(k, N_NEG, 1);
  if (x) x->kid[0] = a;
  return x;
}

static node *mk_fun(ctx *k, int fn, node *a)
{
  if (!a) return NULL;
  if (a->op == N_NUM) return mk_num(k, apply(fn, a->num));
  node *x = new_node(k, N_FUN, 1);
  if (x) {
    x->fn = (unsigned char)fn;
    x->kid[0] = a;
  }
  return x;
}

static node *mk_pow(ctx *k, node *a, node *b)
{
  if (!a || !b) return NULL;
  if (a->op == N_NUM && b->op == N_NUM) return mk_num(k, pow(a->num, b->num));
  if (is_num(b, 1.0)) return a;
  if (is_num(b, 0.0)) return mk_num(k, 1.0);
  node *x = new_node(k, N_POW, 2);
  if (x) {
    x->kid[0] = a;
    x->kid[1] = b;
  }
  return x;
}

/* A sum or product under construction: terms in order, each with its flag. */
typedef struct list {
  size_t n, cap;
  node **item;
  unsigned char *flag;
  bool failed;
} list;

static void list_free(list *l)
{
  free(l->item);
  free(l->flag);
  memset(l, 0, sizeof *l);
}

static void list_push(ctx *k, list *l, node *x, bool flag)
{
  if (!x) {
    l->failed = true;
    return;
  }
  if (k->rc != FP_OK) return;
  if (l->n == l->cap) {
    size_t cap = l->cap ? 2 * l->cap : 8;
    node **item = realloc(l->item, cap * sizeof *item);
    if (item) l->item = item;
    unsigned char *fl = item ? realloc(l->flag, cap) : NULL;
    if (fl) l->flag = fl;
    if (!item || !fl) {
      k->rc = fp_fail(k->err, FP_ERR_NOMEM, "out of memory compiling an expression");
      return;
    }
    l->cap = cap;
  }
  l->item[l->n] = x;
  l->flag[l->n] = flag;
  l->n++;
}

/* Finish a sum: zeros are dropped, a subtracted negation becomes an
 * addition (both exact), and a leading run of numbers is folded in the
 * order it would be evaluated, so the value is that of the text read left
 * to right. */
static node *sum_finish(ctx *k, list *l)
{
  node *out = NULL;
  if (l->failed || k->rc != FP_OK) goto done;
  size_t m = 0;
  for (size_t i = 0; i < l->n; i++) {
    node *x = l->item[i];
    bool sub = l->flag[i];
    if (x->op == N_NEG) {
      x = x->kid[0];
      sub = !sub;
    }
    if (is_num(x, 0.0)) continue;
    if (m == 1 && x->op == N_NUM && l->item[0]->op == N_NUM) {
      double prev = l->flag[m - 1] ? -l->item[m - 1]->num : l->item[m - 1]->num;
      node *f = mk_num(k, sub ? prev - x->num : prev + x->num);
      if (!f) goto done;
      l->item[m - 1] = f;
      l->flag[m - 1] = 0;
      continue;
    }
    l->item[m] = x;
    l->flag[m] = sub;
    m++;
  }
  if (m == 0) {
    out = mk_num(k, 0.0);
  } else if (m == 1) {
    out = l->flag[0] ? mk_neg(k, l->item[0]) : l->item[0];
  } else {
    out = new_node(k, N_SUM, m);
    if (out) {
      memcpy(out->kid, l->item, m * sizeof *l->item);
      memcpy(out->inv, l->flag, m);
    }
  }
done:
  list_free(l);
  return out;
}

/* Finish a product: factors 1 are dropped, a multiplied 0 makes the whole
 * product 0 (as symbolic simplifiers do; a 0 that divides is kept), and a
 * leading run of numbers is folded. */
static node *prod_finish(ctx *k, list *l)
{
  node *out = NULL;
  if (l->failed || k->rc != FP_OK) goto done;
  size_t m = 0;
  for (size_t i = 0; i < l->n; i++) {
    node *x = l->item[i];
    bool div = l->flag[i];
    if (!div && is_num(x, 0.0)) {
      out = mk_num(k, 0.0);
      goto done;
    }
    if (is_num(x, 1.0)) continue;
    if (m == 1 && x->op == N_NUM && l->item[0]->op == N_NUM) {
      double prev = l->flag[m - 1] ? 1.0 / l->item[m - 1]->num : l->item[m - 1]->num;
      node *f = mk_num(k, div ? prev / x->num : prev * x->num);
      if (!f) goto done;
      l->item[m - 1] = f;
      l->flag[m - 1] = 0;
      continue;
    }
    l->item[m] = x;
    l->flag[m] = div;
    m++;
  }
  if (m == 0) {
    out = mk_num(k, 1.0);
  } else if (m == 1 && !l->flag[0]) {
    out = l->item[0];
  } else {
    out = new_node(k, N_PROD, m);
    if (out) {
      memcpy(out->kid, l->item, m * sizeof *l->item);
      memcpy(out->inv, l->flag, m);
    }
  }
done:
  list_free(l);
  return out;
}

static node *mk_add(ctx *k, node *a, node *b, bool subtract)
{
  list l = {0};
  list_push(k, &l, a, false);
  list_push(k, &l, b, subtract);
  return sum_finish(k, &l);
}

static node *mk_mul(ctx *k, node *a, node *b, bool divide)
{
  list l = {0};
  list_push(k, &l, a, false);
  list_push(k, &l, b, divide);
  return prod_finish(k, &l);
}

/* ------------------------------------------------------------------------ */
/* text checks and the parser                                               */

typedef struct parser {
  ctx *k;
  const char *text;
  const char *p;
  int dim;
  const fp_constants *constants;
  int depth;
} parser;

/* 1-based column (in characters, counting a UTF-8 sequence as one) of byte
 * offset `off`. */
static size_t column_of(const char *text, size_t off)
{
  size_t col = 1;
  for (size_t i = 0; i < off; i++)
    if (((unsigned char)text[i] & 0xC0) != 0x80) col++;
  return col;
}

static bool allowed_char(unsigned char ch)
{
  return isalnum(ch) || ch == '_' || ch == '.' || ch == '+' || ch == '-' || ch == '*' ||
         ch == '/' || ch == '^' || ch == '(' || ch == ')' || ch == ' ' || ch == '\t' ||
         ch == '\n' || ch == '\r';
}

/* Decode the UTF-8 character at s (for the message); 0 when invalid. */
static unsigned long decode_utf8(const unsigned char *s, int *len)
{
  unsigned long cp;
  int n;
  if (s[0] < 0x80) { cp = s[0]; n = 1; }
  else if ((s[0] & 0xE0) == 0xC0) { cp = s[0] & 0x1Fu; n = 2; }
  else if ((s[0] & 0xF0) == 0xE0) { cp = s[0] & 0x0Fu; n = 3; }
  else if ((s[0] & 0xF8) == 0xF0) { cp = s[0] & 0x07u; n = 4; }
  else { *len = 1; return 0; }
  for (int i = 1; i < n; i++) {
    if ((s[i] & 0xC0) != 0x80) { *len = 1; return 0; }
    cp = (cp << 6) | (s[i] & 0x3Fu);
  }
  *len = n;
  return cp;
}

static int check_text(const char *text, fp_error *err)
{
  size_t len = strlen(text);
  if (len > MAX_TEXT)
    return fp_fail(err, FP_ERR_EXPR,
                   "the expression is %zu characters long; the limit is %d (use [constants] or a "
                   "simpler form)",
                   len, MAX_TEXT);
  for (size_t i = 0; i < len; i++) {
    unsigned char ch = (unsigned char)text[i];
    if (allowed_char(ch)) continue;
    size_t col = column_of(text, i);
    int n = 1;
    unsigned long cp = decode_utf8((const unsigned char *)text + i, &n);
    const char *hint = "";
    if (cp == 0x2212 || cp == 0x2013 || cp == 0x2014 || cp == 0x2010 || cp == 0x2011 ||
        cp == 0xFE63 || cp == 0xFF0D)
      hint = "; write the ASCII minus '-'";
    else if (cp == 0xB2 || cp == 0xB3 || cp == 0xB9 || (cp >= 0x2070 && cp <= 0x2079))
      hint = "; write powers as x^2";
    else if (cp == 0xD7 || cp == 0x22C5 || cp == 0xB7 || cp == 0x2217)
      hint = "; write the ASCII '*'";
    else if (cp == 0xF7 || cp == 0x2215 || cp == 0x2044)
      hint = "; write the ASCII '/'";
    else if (cp == 0xA0 || cp == 0x2009 || cp == 0x202F)
      hint = "; write an ASCII space";
    else if (ch == ',')
      hint = "; functions take one argument and numbers use '.'";
    if (cp >= 0x80)
      return fp_fail(err, FP_ERR_EXPR,
                     "character '%.*s' (U+%04lX) at column %zu is not allowed in an expression "
                     "(allowed: ASCII letters, digits, _ . + - * / ^ ( ) and spaces)%s",
                     n, text + i, cp, col, hint);
    if (cp == 0 || !isprint(ch))
      return fp_fail(err, FP_ERR_EXPR,
                     "byte 0x%02X at column %zu is not allowed in an expression (allowed: ASCII "
                     "letters, digits, _ . + - * / ^ ( ) and spaces)",
                     ch, col);
    return fp_fail(err, FP_ERR_EXPR,
                   "character '%c' at column %zu is not allowed in an expression (allowed: "
                   "letters, digits, _ . + - * / ^ ( ) and spaces)%s",
                   ch, col, hint);
  }
  return FP_OK;
}

static void skip_space(parser *ps)
{
  while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r') ps->p++;
}

static node *syntax(parser *ps, const char *what)
{
  if (ps->k->rc != FP_OK) return NULL;
  size_t off = (size_t)(ps->p - ps->text);
  if (*ps->p == '\0')
    ps->k->rc = fp_fail(ps->k->err, FP_ERR_EXPR, "cannot parse '%.200s': expected %s at the end",
                        ps->text, what);
  else
    ps->k->rc = fp_fail(ps->k->err, FP_ERR_EXPR,
                        "cannot parse '%.200s': expected %s at column %zu (found '%.12s')",
                        ps->text, what, column_of(ps->text, off), ps->p);
  return NULL;
}

static bool enter(parser *ps)
{
  if (++ps->depth > MAX_DEPTH) {
    if (ps->k->rc == FP_OK)
      ps->k->rc = fp_fail(ps->k->err, FP_ERR_EXPR,
                          "the expression nests more than %d levels deep (parentheses, "
                          "functions, signs and powers) at column %zu",
                          MAX_DEPTH, column_of(ps->text, (size_t)(ps->p - ps->text)));
    return false;
  }
  return true;
}

static node *parse_sum(parser *ps);
static node *parse_unary(parser *ps);

static node *unknown_name(parser *ps, const char *name, size_t n)
{
  char allowed[512];
  size_t len = 0;
  static const char *const coords[FP_MAX_DIM] = {"x", "y", "z"};
  for (int a = 0; a < ps->dim; a++)
    len += (size_t)snprintf(allowed + len, sizeof allowed - len, "%s, ", coords[a]);
  len += (size_t)snprintf(allowed + len, sizeof allowed - len, "t");
  const fp_constants *c = ps->constants;
  for (size_t i = 0; c && i < c->count && len + 80 < sizeof allowed; i++)
    len += (size_t)snprintf(allowed + len, sizeof allowed - len, ", %.64s", c->names[i]);
  if (c && len + 80 >= sizeof allowed) snprintf(allowed + len, sizeof allowed - len, ", ...");
  ps->k->rc = fp_fail(ps->k->err, FP_ERR_EXPR, "unknown name '%.*s' in '%.200s' (allowed: %s, e, pi)",
                      (int)(n > 64 ? 64 : n), name, ps->text, allowed);
  return NULL;
}

static node *parse_primary(parser *ps)
{
  skip_space(ps);
  const char *s = ps->p;
  if (isdigit((unsigned char)*s) || (*s == '.' && isdigit((unsigned char)s[1]))) {
    /* strtod would also take hex, inf and nan; read only decimal digits. */
    const char *q = s;
    while (isdigit((unsigned char)*q)) q++;
    if (*q == '.') {
      q++;
      while (isdigit((unsigned char)*q)) q++;
    }
    if ((*q == 'e' || *q == 'E') &&
        (isdigit((unsigned char)q[1]) ||
         ((q[1] == '+' || q[1] == '-') && isdigit((unsigned char)q[2])))) {
      q += 2;
      while (isdigit((unsigned char)*q)) q++;
    }
    char buf[64];
    size_t n = (size_t)(q - s);
    if (n >= sizeof buf) return syntax(ps, "a number of at most 63 characters");
    memcpy(buf, s, n);
    buf[n] = '\0';
    ps->p = q;
    if (isalpha((unsigned char)*q) || *q == '_')
      return syntax(ps, "an operator after the number (write 2*x, not 2x)");
    return mk_num(ps->k, strtod(buf, NULL));
  }
  if (isalpha((unsigned char)*s) || *s == '_') {
    const char *q = s;
    while (isalnum((unsigned char)*q) || *q == '_') q++;
    size_t n = (size_t)(q - s);
    ps->p = q;
    skip_space(ps);
    for (int f = 0; f < F_COUNT; f++)
      if (strlen(fn_names[f]) == n && strncmp(fn_names[f], s, n) == 0) {
        if (*ps->p != '(') return syntax(ps, "'(' after the function name");
        ps->p++;
        if (!enter(ps)) return NULL;
        node *arg = parse_sum(ps);
        ps->depth--;
        if (!arg) return NULL;
        skip_space(ps);
        if (*ps->p != ')') return syntax(ps, "')' closing the function's argument");
        ps->p++;
        return mk_fun(ps->k, f, arg);
      }
    if (*ps->p == '(') {
      ps->k->rc = fp_fail(ps->k->err, FP_ERR_EXPR, "unknown function '%.*s' in '%.200s'",
                          (int)(n > 64 ? 64 : n), s, ps->text);
      return NULL;
    }
    static const char *const coords[FP_MAX_DIM] = {"x", "y", "z"};
    for (int a = 0; a < ps->dim; a++)
      if (n == 1 && *s == coords[a][0]) return mk_var(ps->k, a);
    if (n == 1 && *s == 't') return mk_var(ps->k, VAR_T);
    if (n == 1 && *s == 'e') return mk_num(ps->k, M_E);
    if (n == 2 && strncmp(s, "pi", 2) == 0) return mk_num(ps->k, M_PI);
    size_t at = constants_find(ps->constants, s, n);
    if (ps->constants && at < ps->constants->count) return mk_num(ps->k, ps->constants->values[at]);
    return unknown_name(ps, s, n);
  }
  if (*s == '(') {
    ps->p++;
    if (!enter(ps)) return NULL;
    node *x = parse_sum(ps);
    ps->depth--;
    if (!x) return NULL;
    skip_space(ps);
    if (*ps->p != ')') return syntax(ps, "')'");
    ps->p++;
    return x;
  }
  return syntax(ps, "a number, a name or '('");
}

/* power := primary ['^' unary]  (right-associative; -x^2 is -(x^2)) */
static node *parse_power(parser *ps)
{
  node *base = parse_primary(ps);
  if (!base) return NULL;
  skip_space(ps);
  if (*ps->p != '^') return base;
  ps->p++;
  if (!enter(ps)) return NULL;
  node *exponent = parse_unary(ps);
  ps->depth--;
  return mk_pow(ps->k, base, exponent);
}

static node *parse_unary(parser *ps)
{
  skip_space(ps);
  if (*ps->p == '-' || *ps->p == '+') {
    bool neg = *ps->p == '-';
    ps->p++;
    if (!enter(ps)) return NULL;
    node *x = parse_unary(ps);
    ps->depth--;
    return neg ? mk_neg(ps->k, x) : x;
  }
  return parse_power(ps);
}

static node *parse_product(parser *ps)
{
  list l = {0};
  list_push(ps->k, &l, parse_unary(ps), false);
  for (;;) {
    skip_space(ps);
    if (l.failed || ps->k->rc != FP_OK || (*ps->p != '*' && *ps->p != '/')) break;
    bool div = *ps->p == '/';
    ps->p++;
    list_push(ps->k, &l, parse_unary(ps), div);
  }
  return prod_finish(ps->k, &l);
}

static node *parse_sum(parser *ps)
{
  list l = {0};
  list_push(ps->k, &l, parse_product(ps), false);
  for (;;) {
    skip_space(ps);
    if (l.failed || ps->k->rc != FP_OK || (*ps->p != '+' && *ps->p != '-')) break;
    bool sub = *ps->p == '-';
    ps->p++;
    list_push(ps->k, &l, parse_product(ps), sub);
  }
  return sum_finish(ps->k, &l);
}

/* ------------------------------------------------------------------------ */
/* derivatives                                                              */

static node *derive(ctx *k, node *x, int var);

static node *num(ctx *k, double v) { return mk_num(k, v); }

/* d f(u) / du as a tree in u (the chain rule multiplies by u'). */
static node *outer_derivative(ctx *k, int fn, node *u)
{
  node *one = num(k, 1.0);
  switch (fn) {
  case F_EXP: return mk_fun(k, F_EXP, u);
  case F_LOG: return mk_mul(k, one, u, true);
  case F_SQRT: return mk_mul(k, num(k, 0.5), mk_fun(k, F_SQRT, u), true);
  case F_SIN: return mk_fun(k, F_COS, u);
  case F_COS: return mk_neg(k, mk_fun(k, F_SIN, u));
  case F_TAN: return mk_mul(k, one, mk_pow(k, mk_fun(k, F_COS, u), num(k, 2.0)), true);
  case F_COT: return mk_neg(k, mk_mul(k, one, mk_pow(k, mk_fun(k, F_SIN, u), num(k, 2.0)), true));
  case F_SEC: return mk_mul(k, mk_fun(k, F_SEC, u), mk_fun(k, F_TAN, u), false);
  case F_CSC: return mk_neg(k, mk_mul(k, mk_fun(k, F_CSC, u), mk_fun(k, F_COT, u), false));
  case F_ASIN:
  case F_ACOS: {
    node *d = mk_mul(k, one,
                     mk_fun(k, F_SQRT, mk_add(k, num(k, 1.0), mk_pow(k, u, num(k, 2.0)), true)),
                     true);
    return fn == F_ASIN ? d : mk_neg(k, d);
  }
  case F_ATAN:
  case F_ACOT: {
    node *d = mk_mul(k, one, mk_add(k, num(k, 1.0), mk_pow(k, u, num(k, 2.0)), false), true);
    return fn == F_ATAN ? d : mk_neg(k, d);
  }
  case F_ASEC:
  case F_ACSC: {
    node *d = mk_mul(k, one,
                     mk_mul(k, mk_fun(k, F_ABS, u),
                            mk_fun(k, F_SQRT, mk_add(k, mk_pow(k, u, num(k, 2.0)), num(k, 1.0), true)),
                            false),
                     true);
    return fn == F_ASEC ? d : mk_neg(k, d);
  }
  case F_SINH: return mk_fun(k, F_COSH, u);
  case F_COSH: return mk_fun(k, F_SINH, u);
  case F_TANH: return mk_mul(k, one, mk_pow(k, mk_fun(k, F_COSH, u), num(k, 2.0)), true);
  case F_COTH: return mk_neg(k, mk_mul(k, one, mk_pow(k, mk_fun(k, F_SINH, u), num(k, 2.0)), true));
  case F_SECH: return mk_neg(k, mk_mul(k, mk_fun(k, F_SECH, u), mk_fun(k, F_TANH, u), false));
  case F_CSCH: return mk_neg(k, mk_mul(k, mk_fun(k, F_CSCH, u), mk_fun(k, F_COTH, u), false));
  case F_ASINH:
    return mk_mul(k, one, mk_fun(k, F_SQRT, mk_add(k, mk_pow(k, u, num(k, 2.0)), num(k, 1.0), false)),
                  true);
  case F_ACOSH:
    return mk_mul(k, one, mk_fun(k, F_SQRT, mk_add(k, mk_pow(k, u, num(k, 2.0)), num(k, 1.0), true)),
                  true);
  case F_ATANH:
  case F_ACOTH:
    return mk_mul(k, one, mk_add(k, num(k, 1.0), mk_pow(k, u, num(k, 2.0)), true), true);
  case F_ASECH:
    return mk_neg(k, mk_mul(k, one,
                            mk_mul(k, mk_fun(k, F_ABS, u),
                                   mk_fun(k, F_SQRT,
                                          mk_add(k, num(k, 1.0), mk_pow(k, u, num(k, 2.0)), true)),
                                   false),
                            true));
  case F_ACSCH:
    return mk_neg(k, mk_mul(k, one,
                            mk_mul(k, mk_fun(k, F_ABS, u),
                                   mk_fun(k, F_SQRT,
                                          mk_add(k, mk_pow(k, u, num(k, 2.0)), num(k, 1.0), false)),
                                   false),
                            true));
  /* abs: the sign (+1 at 0, a one-sided choice); step: a Dirac delta, as the
   * symbolic derivative of a jump (infinite at the jump, so a discretisation
   * that lands on it fails loudly instead of silently dropping it). */
  case F_ABS: return mk_add(k, mk_mul(k, num(k, 2.0), mk_fun(k, F_STEP, u), false), num(k, 1.0), true);
  case F_STEP: return mk_fun(k, F_DELTA, u);
  case F_DELTA:
  case F_NANDELTA: return mk_fun(k, F_NANDELTA, u);
  default: /* erf */
    return mk_mul(k, num(k, M_2_SQRTPI),
                  mk_fun(k, F_EXP, mk_neg(k, mk_pow(k, u, num(k, 2.0)))), false);
  }
}

static node *derive(ctx *k, node *x, int var)
{
  if (!x || k->rc != FP_OK) return NULL;
  switch (x->op) {
  case N_NUM: return num(k, 0.0);
  case N_VAR: return num(k, x->var == var ? 1.0 : 0.0);
  case N_NEG: return mk_neg(k, derive(k, x->kid[0], var));
  case N_SUM: {
    list l = {0};
    for (size_t i = 0; i < x->n; i++) list_push(k, &l, derive(k, x->kid[i], var), x->inv[i]);
    return sum_finish(k, &l);
  }
  case N_PROD: {
    /* d(f1 f2 ... / fj ...) = sum_i of the product with factor i replaced by
     * f_i' (a multiplying factor) or by -f_i'/f_i^2 (a dividing one). */
    list terms = {0};
    for (size_t i = 0; i < x->n && k->rc == FP_OK; i++) {
      node *di = derive(k, x->kid[i], var);
      if (!di) break;
      if (is_num(di, 0.0)) continue;
      list f = {0};
      for (size_t j = 0; j < x->n; j++) {
        if (j != i) {
          list_push(k, &f, x->kid[j], x->inv[j]);
        } else {
          list_push(k, &f, di, false);
          if (x->inv[i]) {
            list_push(k, &f, x->kid[i], true);
            list_push(k, &f, x->kid[i], true);
          }
        }
      }
      list_push(k, &terms, prod_finish(k, &f), x->inv[i]);
    }
    if (k->rc != FP_OK) {
      list_free(&terms);
      return NULL;
    }
    return sum_finish(k, &terms);
  }
  case N_POW: {
    node *u = x->kid[0], *v = x->kid[1];
    node *du = derive(k, u, var), *dv = derive(k, v, var);
    if (!du || !dv) return NULL;
    if (is_num(dv, 0.0)) {
      if (is_num(du, 0.0)) return num(k, 0.0);
      /* v u^(v-1) u' */
      list f = {0};
      list_push(k, &f, v, false);
      list_push(k, &f, mk_pow(k, u, mk_add(k, v, num(k, 1.0), true)), false);
      list_push(k, &f, du, false);
      return prod_finish(k, &f);
    }
    /* u^v (v' log u + v u'/u) */
    list s = {0};
    list_push(k, &s, mk_mul(k, dv, mk_fun(k, F_LOG, u), false), false);
    list f = {0};
    list_push(k, &f, v, false);
    list_push(k, &f, du, false);
    list_push(k, &f, u, true);
    list_push(k, &s, prod_finish(k, &f), false);
    return mk_mul(k, x, sum_finish(k, &s), false);
  }
  default: { /* N_FUN */
    node *du = derive(k, x->kid[0], var);
    if (!du) return NULL;
    if (is_num(du, 0.0)) return num(k, 0.0);
    return mk_mul(k, outer_derivative(k, x->fn, x->kid[0]), du, false);
  }
  }
}

/* ------------------------------------------------------------------------ */
/* bytecode                                                                 */

enum code { C_NUM, C_VAR, C_NEG, C_ADD, C_SUB, C_MUL, C_DIV, C_POW, C_FUN, C_RECIP };

typedef struct insn {
  unsigned char op;
  unsigned char arg; /* variable slot or function */
  double num;
} insn;

/* A C callback in place of a parsed text (fp_expr_create_fn), or the
 * central-difference derivative of one along `fd_axis`. */
typedef struct fn_source {
  fp_scalar_fn fn;
  void *ctx;
  unsigned depends;    /* FP_FN_DEPENDS_* */
  int fd_axis;         /* -2: the function itself; else the axis (or FP_EXPR_TIME)
                          of a central difference */
  fp_scalar_fn dfn[FP_MAX_DIM + 1]; /* caller's exact derivatives (index axis, or
                                       FP_MAX_DIM for t); NULL: differences */
  void *dctx[FP_MAX_DIM + 1];
} fn_source;

struct fp_expr {
  fn_source *fn;     /* non-NULL for callbacks: then there is no tree or code */
  arena *a;          /* shared with derivatives */
  node *root;
  char *text;
  int dim;
  unsigned uses;     /* bit v: variable slot v appears */
  size_t ncode;
  insn *code;
  double *stack;
  size_t stack_size;
};

typedef struct emitter {
  ctx *k;
  insn *code;
  size_t n, cap;
  size_t depth, max_depth;
  unsigned uses;
} emitter;

static void emit(emitter *em, int op, int arg, double v, int stack_change)
{
  ctx *k = em->k;
  if (k->rc != FP_OK) return;
  if (em->n == em->cap) {
    if (em->cap >= MAX_CODE) {
      k->rc = fp_fail(k->err, FP_ERR_EXPR,
                      "the expression (or its derivative) compiles to more than %u "
                      "instructions; simplify it",
                      MAX_CODE);
      return;
    }
    size_t cap = em->cap ? 2 * em->cap : 32;
    insn *code = realloc(em->code, cap * sizeof *code);
    if (!code) {
      k->rc = fp_fail(k->err, FP_ERR_NOMEM, "out of memory compiling an expression");
      return;
    }
    em->code = code;
    em->cap = cap;
  }
  em->code[em->n++] = (insn){(unsigned char)op, (unsigned char)arg, v};
  em->depth = (size_t)((long)em->depth + stack_change);
  if (em->depth > em->max_depth) em->max_depth = em->depth;
}

static void emit_tree(emitter *em, const node *x)
{
  if (em->k->rc != FP_OK) return;
  switch (x->op) {
  case N_NUM: emit(em, C_NUM, 0, x->num, 1); return;
  case N_VAR:
    em->uses |= 1u << x->var;
    emit(em, C_VAR, x->var, 0.0, 1);
    return;
  case N_NEG:
    emit_tree(em, x->kid[0]);
    emit(em, C_NEG, 0, 0.0, 0);
    return;
  case N_SUM:
  case N_PROD: {
    bool sum = x->op == N_SUM;
    for (size_t i = 0; i < x->n; i++) {
      emit_tree(em, x->kid[i]);
      if (i == 0) {
        if (x->inv[0]) emit(em, sum ? C_NEG : C_RECIP, 0, 0.0, 0);
      } else {
        int op = sum ? (x->inv[i] ? C_SUB : C_ADD) : (x->inv[i] ? C_DIV : C_MUL);
        emit(em, op, 0, 0.0, -1);
      }
    }
    return;
  }
  case N_POW:
    emit_tree(em, x->kid[0]);
    emit_tree(em, x->kid[1]);
    emit(em, C_POW, 0, 0.0, -1);
    return;
  default:
    emit_tree(em, x->kid[0]);
    emit(em, C_FUN, x->fn, 0.0, 0);
    return;
  }
}

void fp_expr_destroy(fp_expr **e)
{
  if (!e || !*e) return;
  fp_expr *x = *e;
  free(x->fn);
  if (x->a) arena_release(x->a);
  free(x->text);
  free(x->code);
  free(x->stack);
  free(x);
  *e = NULL;
}

/* Compile x->root into bytecode; on failure destroys x. */
static int finish(fp_expr *x, ctx *k, fp_expr **out)
{
  if (k->rc == FP_OK && !x->root)
    k->rc = fp_fail(k->err, FP_ERR_EXPR, "cannot compile '%.200s'", x->text ? x->text : "");
  emitter em = {.k = k};
  if (k->rc == FP_OK) emit_tree(&em, x->root);
  x->code = em.code;
  x->ncode = em.n;
  x->uses = em.uses;
  if (k->rc == FP_OK) {
    x->stack_size = em.max_depth + 1;
    x->stack = malloc(x->stack_size * sizeof *x->stack);
    if (!x->stack) k->rc = fp_fail(k->err, FP_ERR_NOMEM, "out of memory compiling an expression");
  }
  if (k->rc != FP_OK) {
    fp_expr_destroy(&x);
    return k->rc;
  }
  *out = x;
  return FP_OK;
}

static char *duplicate(const char *s)
{
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

int fp_expr_create(const char *text, int dim, const fp_constants *constants, fp_expr **out,
                   fp_error *err)
{
  if (!out) return fp_fail(err, FP_ERR_ARG, "fp_expr_create: out is NULL");
  *out = NULL;
  if (!text) return fp_fail(err, FP_ERR_ARG, "fp_expr_create: text is NULL");
  if (dim < 1 || dim > FP_MAX_DIM)
    return fp_fail(err, FP_ERR_ARG, "fp_expr_create: dimension %d is not 1, 2 or 3", dim);
  int rc = check_text(text, err);
  if (rc != FP_OK) return rc;
  const char *p = text;
  while (isspace((unsigned char)*p)) p++;
  if (*p == '\0') return fp_fail(err, FP_ERR_EXPR, "empty expression");

  fp_expr *x = calloc(1, sizeof *x);
  if (!x) return fp_fail(err, FP_ERR_NOMEM, "out of memory compiling an expression");
  x->dim = dim;
  x->text = duplicate(text);
  x->a = calloc(1, sizeof *x->a);
  if (!x->text || !x->a) {
    fp_expr_destroy(&x);
    return fp_fail(err, FP_ERR_NOMEM, "out of memory compiling an expression");
  }
  x->a->refs = 1;
  ctx k = {x->a, err, FP_OK};
  parser ps = {&k, text, text, dim, constants, 0};
  x->root = parse_sum(&ps);
  if (k.rc == FP_OK) {
    skip_space(&ps);
    if (*ps.p == ')')
      syntax(&ps, "an operator or the end (this ')' closes nothing)");
    else if (*ps.p != '\0')
      syntax(&ps, "an operator or the end");
  }
  return finish(x, &k, out);
}

/* Central difference of a callback along one axis.  The step balances the
 * O(h^2) truncation against the O(eps/h) cancellation: h = eps^(1/3) scaled
 * by the coordinate, which leaves a relative error of about 1e-10 on smooth
 * functions (and exactly 0 on functions that do not depend on the axis). */
static double fn_central_difference(const fn_source *f, const double x[FP_MAX_DIM], double t)
{
  const double cbrt_eps = 6.0554544523933395e-06; /* DBL_EPSILON^(1/3) */
  double xp[FP_MAX_DIM], xm[FP_MAX_DIM];
  for (int i = 0; i < FP_MAX_DIM; i++) xp[i] = xm[i] = x[i];
  double tp = t, tm = t, h;
  if (f->fd_axis == FP_EXPR_TIME) {
    h = cbrt_eps * fmax(1.0, fabs(t));
    tp = t + h;
    tm = t - h;
    h = tp - tm;
  } else {
    int a = f->fd_axis;
    h = cbrt_eps * fmax(1.0, fabs(x[a]));
    xp[a] = x[a] + h;
    xm[a] = x[a] - h;
    h = xp[a] - xm[a]; /* the step actually taken, after rounding */
  }
  return (f->fn(xp, tp, f->ctx) - f->fn(xm, tm, f->ctx)) / h;
}

double fp_expr_eval(fp_expr *e, const double x[FP_MAX_DIM], double t)
{
  if (e->fn) return e->fn->fd_axis == -2 ? e->fn->fn(x, t, e->fn->ctx) : fn_central_difference(e->fn, x, t);
  double *s = e->stack;
  size_t sp = 0; /* number of values on the stack */
  const insn *c = e->code, *end = e->code + e->ncode;
  for (; c < end; c++) {
    switch (c->op) {
    case C_NUM: s[sp++] = c->num; break;
    case C_VAR: s[sp++] = c->arg == VAR_T ? t : x[c->arg]; break;
    case C_NEG: s[sp - 1] = -s[sp - 1]; break;
    case C_RECIP: s[sp - 1] = 1.0 / s[sp - 1]; break;
    case C_ADD: sp--; s[sp - 1] += s[sp]; break;
    case C_SUB: sp--; s[sp - 1] -= s[sp]; break;
    case C_MUL: sp--; s[sp - 1] *= s[sp]; break;
    case C_DIV: sp--; s[sp - 1] /= s[sp]; break;
    case C_POW: sp--; s[sp - 1] = pow(s[sp - 1], s[sp]); break;
    default: s[sp - 1] = apply(c->arg, s[sp - 1]); break;
    }
  }
  return s[0];
}

static unsigned depends_bit(int axis)
{
  return axis == FP_EXPR_TIME ? FP_FN_DEPENDS_T : (1u << axis);
}

static int make_fn_expr(const fn_source *src, int dim, const char *text, fp_expr **out, fp_error *err)
{
  fp_expr *x = calloc(1, sizeof *x);
  if (!x) return fp_fail(err, FP_ERR_NOMEM, "out of memory creating '%s'", text);
  x->dim = dim;
  x->fn = malloc(sizeof *x->fn);
  x->text = strdup(text);
  if (!x->fn || !x->text) {
    fp_expr_destroy(&x);
    return fp_fail(err, FP_ERR_NOMEM, "out of memory creating '%s'", text);
  }
  *x->fn = *src;
  x->uses = src->fd_axis == -2 ? src->depends : 0;
  *out = x;
  return FP_OK;
}

int fp_expr_create_fn(fp_scalar_fn fn, void *user, int dim, unsigned depends, const char *name,
                      fp_expr **out, fp_error *err)
{
  if (!out) return fp_fail(err, FP_ERR_ARG, "fp_expr_create_fn: out is NULL");
  *out = NULL;
  if (!fn) return fp_fail(err, FP_ERR_ARG, "fp_expr_create_fn: the function is NULL");
  if (dim < 1 || dim > FP_MAX_DIM)
    return fp_fail(err, FP_ERR_ARG, "fp_expr_create_fn: dimension %d is not 1, 2 or 3", dim);
  if (depends & ~(unsigned)(FP_FN_DEPENDS_SPACE | FP_FN_DEPENDS_T))
    return fp_fail(err, FP_ERR_ARG, "fp_expr_create_fn: unknown bits 0x%x in `depends`", depends);
  /* Coordinates beyond the dimension do not exist. */
  depends &= ((1u << dim) - 1u) | FP_FN_DEPENDS_T;
  fn_source src = {.fn = fn, .ctx = user, .depends = depends, .fd_axis = -2};
  char text[96];
  snprintf(text, sizeof text, "%s", name && *name ? name : "<C function>");
  return make_fn_expr(&src, dim, text, out, err);
}

int fp_expr_set_derivative_fn(fp_expr *e, int axis, fp_scalar_fn dfn, void *user, fp_error *err)
{
  if (!e || !e->fn || e->fn->fd_axis != -2)
    return fp_fail(err, FP_ERR_ARG, "fp_expr_set_derivative_fn: not an expression made by "
                                    "fp_expr_create_fn");
  if (axis != FP_EXPR_TIME && (axis < 0 || axis >= e->dim))
    return fp_fail(err, FP_ERR_ARG, "fp_expr_set_derivative_fn: axis %d out of range", axis);
  int slot = axis == FP_EXPR_TIME ? FP_MAX_DIM : axis;
  e->fn->dfn[slot] = dfn;
  e->fn->dctx[slot] = user;
  return FP_OK;
}

/* Derivative of a callback: the caller's exact one when given, 0 when the
 * function does not depend on the axis, else a central difference. */
static int fn_derivative(const fp_expr *e, int axis, fp_expr **out, fp_error *err)
{
  const fn_source *f = e->fn;
  static const char *const names[FP_MAX_DIM + 1] = {"x", "y", "z", "t"};
  char text[160];
  snprintf(text, sizeof text, "d(%s)/d%s", e->text, names[axis == FP_EXPR_TIME ? FP_MAX_DIM : axis]);
  if (f->fd_axis != -2)
    return fp_fail(err, FP_ERR_UNSUPPORTED, "second derivatives of C functions are not "
                                            "available ('%s')", e->text);
  int slot = axis == FP_EXPR_TIME ? FP_MAX_DIM : axis;
  if (f->dfn[slot]) {
    fn_source d = {.fn = f->dfn[slot], .ctx = f->dctx[slot], .depends = f->depends, .fd_axis = -2};
    return make_fn_expr(&d, e->dim, text, out, err);
  }
  if (!(f->depends & depends_bit(axis))) return fp_expr_create("0", e->dim, NULL, out, err);
  fn_source d = *f;
  d.fd_axis = axis;
  for (int i = 0; i <= FP_MAX_DIM; i++) d.dfn[i] = NULL;
  return make_fn_expr(&d, e->dim, text, out, err);
}

bool fp_expr_is_symbolic(const fp_expr *e) { return e && !e->fn; }

int fp_expr_derivative(const fp_expr *e, int axis, fp_expr **out, fp_error *err)
{
  if (!out) return fp_fail(err, FP_ERR_ARG, "fp_expr_derivative: out is NULL");
  *out = NULL;
  if (!e) return fp_fail(err, FP_ERR_ARG, "fp_expr_derivative: expression is NULL");
  if (axis != FP_EXPR_TIME && (axis < 0 || axis >= e->dim))
    return fp_fail(err, FP_ERR_ARG, "fp_expr_derivative: axis %d out of range", axis);
  if (e->fn) return fn_derivative(e, axis, out, err);
  static const char *const names[FP_MAX_DIM + 1] = {"x", "y", "z", "t"};
  int var = axis == FP_EXPR_TIME ? VAR_T : axis;
  fp_expr *x = calloc(1, sizeof *x);
  if (!x) return fp_fail(err, FP_ERR_NOMEM, "out of memory differentiating an expression");
  x->dim = e->dim;
  x->a = e->a;
  x->a->refs++;
  size_t len = strlen(e->text) + 16;
  x->text = malloc(len);
  if (!x->text) {
    fp_expr_destroy(&x);
    return fp_fail(err, FP_ERR_NOMEM, "out of memory differentiating an expression");
  }
  snprintf(x->text, len, "d/d%s(%s)", names[var], e->text);
  ctx k = {x->a, err, FP_OK};
  x->root = derive(&k, e->root, var);
  return finish(x, &k, out);
}

bool fp_expr_depends_on(const fp_expr *e, int axis)
{
  if (e->fn)
    return (axis == FP_EXPR_TIME || (axis >= 0 && axis < e->dim)) && (e->fn->depends & depends_bit(axis));
  int var = axis == FP_EXPR_TIME ? VAR_T : axis;
  if (var < 0 || var > VAR_T) return false;
  return (e->uses >> var) & 1u;
}

bool fp_expr_is_zero(const fp_expr *e)
{
  return !e->fn && is_num(e->root, 0.0); /* a callback is never known to vanish everywhere */
}

const char *fp_expr_text(const fp_expr *e) { return e ? e->text : NULL; }
