/*
 * defer.c - t_defer and t_defer_check: any C call, made later.
 *
 * The macros in deft.h hand over the function as a generic pointer, the
 * kind of its return type and one captured value per argument, each with
 * the kind of its expression's type.  Here the values are copied into the
 * test's arena with their C types, libffi prepares the call interface
 * once, and the cleanup makes the call with ffi_call.  Argument types come
 * from the argument expressions, as for printf's variadic arguments: an
 * int passed for a double parameter is the caller's mistake, and the
 * header says so.
 */
#include "internal.h"

#include <errno.h>
#include <ffi.h>
#include <limits.h>
#include <string.h>

union slot {
	_Bool b;
	signed char sc;
	unsigned char uc;
	short s;
	unsigned short us;
	int i;
	unsigned u;
	long l;
	unsigned long ul;
	long long ll;
	unsigned long long ull;
	float f;
	double d;
	long double ld;
	const void *p;
};

struct deft_call {
	ffi_cif cif;
	void (*fn)(void);
	const char *expr;       /* "f, a, b" as written */
	enum deft_kind ret;
	int check;
	ffi_type **types;
	void **values;
	union slot *slots;
};

static ffi_type *ffi_type_of(enum deft_kind k)
{
	switch (k) {
	case DEFT_K_BOOL:
		return &ffi_type_uint8;
	case DEFT_K_CHAR:
		return CHAR_MIN < 0 ? &ffi_type_schar : &ffi_type_uchar;
	case DEFT_K_SCHAR:
		return &ffi_type_schar;
	case DEFT_K_UCHAR:
		return &ffi_type_uchar;
	case DEFT_K_SHORT:
		return &ffi_type_sshort;
	case DEFT_K_USHORT:
		return &ffi_type_ushort;
	case DEFT_K_INT:
		return &ffi_type_sint;
	case DEFT_K_UINT:
		return &ffi_type_uint;
	case DEFT_K_LONG:
		return &ffi_type_slong;
	case DEFT_K_ULONG:
		return &ffi_type_ulong;
	case DEFT_K_LLONG:
		return &ffi_type_sint64;
	case DEFT_K_ULLONG:
		return &ffi_type_uint64;
	case DEFT_K_FLOAT:
		return &ffi_type_float;
	case DEFT_K_DOUBLE:
		return &ffi_type_double;
	case DEFT_K_LDOUBLE:
		return &ffi_type_longdouble;
	case DEFT_K_PTR:
	case DEFT_K_STR:
		return &ffi_type_pointer;
	case DEFT_K_VOID:
		return &ffi_type_void;
	}
	return &ffi_type_void;
}

/* Stores a captured value in a slot with the C type of its kind. */
static void slot_store(union slot *s, const struct deft_val *v)
{
	switch (v->kind) {
	case DEFT_K_BOOL: s->b = v->v.u != 0; break;
	case DEFT_K_CHAR:
	case DEFT_K_SCHAR: s->sc = (signed char)v->v.i; break;
	case DEFT_K_UCHAR: s->uc = (unsigned char)v->v.u; break;
	case DEFT_K_SHORT: s->s = (short)v->v.i; break;
	case DEFT_K_USHORT: s->us = (unsigned short)v->v.u; break;
	case DEFT_K_INT: s->i = (int)v->v.i; break;
	case DEFT_K_UINT: s->u = (unsigned)v->v.u; break;
	case DEFT_K_LONG: s->l = (long)v->v.i; break;
	case DEFT_K_ULONG: s->ul = (unsigned long)v->v.u; break;
	case DEFT_K_LLONG: s->ll = (long long)v->v.i; break;
	case DEFT_K_ULLONG: s->ull = (unsigned long long)v->v.u; break;
	case DEFT_K_FLOAT: s->f = v->v.f; break;
	case DEFT_K_DOUBLE: s->d = v->v.d; break;
	case DEFT_K_LDOUBLE: memcpy(&s->ld, v->v.ld, sizeof(s->ld)); break;
	case DEFT_K_PTR: s->p = v->v.p; break;
	case DEFT_K_STR: s->p = v->v.s; break;
	case DEFT_K_VOID: break;
	}
}

const char *deft_call_text(const struct deft_call *call)
{
	return call->expr;
}

void deft_call_expr(struct deft_buf *b, const struct deft_call *call)
{
	const char *e = call->expr;
	int depth = 0;
	const char *comma = NULL;
	for (const char *p = e; *p && !comma; p++) {
		if (*p == '(' || *p == '[')
			depth++;
		else if (*p == ')' || *p == ']')
			depth--;
		else if (*p == ',' && depth == 0)
			comma = p;
	}
	if (comma == NULL) {
		deft_buf_printf(b, "%s()", e);
		return;
	}
	deft_buf_add(b, e, (size_t)(comma - e));
	const char *args = comma + 1;
	while (*args == ' ')
		args++;
	deft_buf_printf(b, "(%s)", args);
}

union ret {
	ffi_arg a;
	ffi_sarg s;
	long long ll;
	float f;
	double d;
	long double ld;
	void *p;
};

/* The integer a call returned, by the kind of its return type. */
static long long ret_integer(const union ret *r, enum deft_kind k)
{
	switch (k) {
	case DEFT_K_LLONG:
	case DEFT_K_ULLONG:
		return r->ll;
	case DEFT_K_BOOL:
	case DEFT_K_UCHAR:
	case DEFT_K_USHORT:
	case DEFT_K_UINT:
	case DEFT_K_ULONG:
		return (long long)r->a;
	default:
		return (long long)r->s;
	}
}

static void report_failed_call(T *t, const struct deft_call *c,
                               const union ret *r, int err,
                               const char *file, int line)
{
	struct deft_buf what = DEFT_BUF_INIT, value = DEFT_BUF_INIT;
	deft_call_expr(&what, c);
	if (c->ret == DEFT_K_PTR || c->ret == DEFT_K_STR)
		deft_buf_puts(&value, "NULL");
	else if (c->ret == DEFT_K_BOOL)
		deft_buf_puts(&value, "false");
	else
		deft_buf_printf(&value, "%lld", ret_integer(r, c->ret));
	if (err != 0)
		deft_fail_at(t, file, line, "deferred %s returned %s: %s",
		             what.data, value.data, strerror(err));
	else
		deft_fail_at(t, file, line, "deferred %s returned %s",
		             what.data, value.data);
	deft_buf_free(&what);
	deft_buf_free(&value);
}

static void call_deferred(T *t, void *arg)
{
	const struct deft_call *c = arg;
	union ret r;
	memset(&r, 0, sizeof(r));
	errno = 0;
	ffi_call((ffi_cif *)&c->cif, c->fn, &r, c->values);
	int err = errno;
	if (!c->check)
		return;
	bool failed;
	if (c->ret == DEFT_K_PTR || c->ret == DEFT_K_STR)
		failed = r.p == NULL;
	else
		failed = ret_integer(&r, c->ret) != 0;
	if (c->ret == DEFT_K_BOOL)
		failed = !failed;
	if (failed)
		report_failed_call(t, c, &r, err, t->in_cleanup->file,
		                   t->in_cleanup->line);
}

static bool checkable(enum deft_kind k)
{
	return k != DEFT_K_VOID && k != DEFT_K_FLOAT && k != DEFT_K_DOUBLE &&
	       k != DEFT_K_LDOUBLE;
}

t_handle deft_defer(T *t, const char *file, int line, const char *expr,
                    int check, void (*fn)(void), enum deft_kind ret,
                    int nargs, const struct deft_val *args)
{
	if (fn == NULL) {
		deft_fail_at(t, file, line, "t_defer: function is NULL");
		return NULL;
	}
	size_t n = (size_t)nargs;
	for (size_t i = 0; i < n; i++) {
		if ((args[i].kind == DEFT_K_PTR || args[i].kind == DEFT_K_STR)
		    && deft_in_body_frames(t, args[i].kind == DEFT_K_PTR ?
		                           args[i].v.p : args[i].v.s)) {
			deft_fail_at(t, file, line, "t_defer(%s): argument %zu "
			             "points into the stack of the function "
			             "that registers the call, which is gone "
			             "when the call is made; keep what it "
			             "points to in static or allocated memory "
			             "(the call is not registered)", expr,
			             i + 1);
			return NULL;
		}
	}
	pthread_mutex_lock(&t->mu);
	struct deft_call *c = deft_arena_alloc(
		&t->arena, sizeof(*c) + n * (sizeof(ffi_type *) +
		                             sizeof(void *) + sizeof(union slot)));
	pthread_mutex_unlock(&t->mu);
	c->slots = (union slot *)(c + 1);
	c->types = (ffi_type **)(c->slots + n);
	c->values = (void **)(c->types + n);
	c->fn = fn;
	c->expr = expr;
	c->ret = ret;
	c->check = check && checkable(ret);
	for (size_t i = 0; i < n; i++) {
		slot_store(&c->slots[i], &args[i]);
		c->types[i] = ffi_type_of(args[i].kind);
		c->values[i] = &c->slots[i];
	}
	if (ffi_prep_cif(&c->cif, FFI_DEFAULT_ABI, (unsigned)n,
	                 ffi_type_of(ret), c->types) != FFI_OK) {
		struct deft_buf what = DEFT_BUF_INIT;
		deft_call_expr(&what, c);
		deft_fail_at(t, file, line, "t_defer: libffi cannot prepare "
		             "the call %s", what.data);
		deft_buf_free(&what);
		return NULL;
	}
	if (check && !c->check) {
		struct deft_buf what = DEFT_BUF_INIT;
		deft_call_expr(&what, c);
		deft_fail_at(t, file, line, "t_defer_check: %s returns %s, "
		             "which has no error value; use t_defer",
		             what.data, ret == DEFT_K_VOID ? "void" :
		             "a floating-point number");
		deft_buf_free(&what);
	}
	t_handle h = deft_cleanup(t, file, line, NULL, call_deferred, c);
	if (h)
		deft_cleanup_attach_call(h, c);
	return h;
}
