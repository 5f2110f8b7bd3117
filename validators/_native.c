/* The linter's optional native core: runs a compiled request program on one parsed body.
 *
 * Nothing here knows a field, a variant or a limit.  validators/_native_plan.py
 * compiles the contract's discriminator-split tree (the same tree the Python
 * diagnoser walks) into the tuples Program() takes; this file only executes
 * them.  A newer spec changes the program, not this code.
 *
 * Program.run(value) answers, for a value parsed by orjson:
 *   None             valid, and no advice rule can fire: the empty report;
 *   True             valid, and some advice rule may fire: Python advises;
 *   [warnings]       valid, with the warnings it is sure of, as records
 *                    (builder, pointer, value, None) in the advisor's order;
 *   False            not decided here (several errors in one branch, an error
 *                    only jsonschema-rs describes, a Python error, a bound
 *                    reached): the whole body goes to the Python path;
 *   (records, advice) invalid: records are (site, pointer, value, extra)
 *                    tuples the Python sites turn into findings; advice is
 *                    False, True (Python advises) or the warning records.
 * A valid body allocates nothing here.
 *
 * Recursion bound: the walk follows the program, never the instance beyond
 * it, so it recurses at most as deep as the compiled tree (the compiler
 * refuses trees deeper than MAX_DEPTH); the pointer stack is MAX_DEPTH deep
 * and reaching it hands the body to Python.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define MAX_DEPTH 64
#define MAX_ANY 16
#define MAX_PROPS 64 /* properties whose presence one pass over the object remembers */

enum { T_NONE = 0, T_OBJECT, T_ARRAY, T_STRING, T_BOOLEAN, T_NULL };
enum { A_BLANK = 1, A_HTTPS, A_BASE64, A_NEEDS };

typedef struct Node Node;
typedef struct Union Union;

typedef struct { PyObject *name, *step; Node *node; } Prop;
typedef struct { PyObject *name, *site; Py_ssize_t prop; /* index in props, or -1 */ } Required;

struct Node {
    int type;
    PyObject *type_site;
    PyObject *const_value, *const_site;
    PyObject *enum_set, *enum_site;
    Py_ssize_t min_len, max_len, min_items, max_items;
    PyObject *min_len_site, *max_len_site, *min_items_site, *max_items_site;
    Node *items;
    Py_ssize_t nprops;
    Prop *props;
    Py_ssize_t nrequired;
    Required *required;
    int closed;
    PyObject *ap_site, *propset;
    Py_ssize_t nany;
    Node **any; /* NULL entries accept anything */
    PyObject *any_site;
    PyObject *check; /* a Python is_valid for the whole node, or NULL */
};

typedef struct { PyObject *name; int code; PyObject *needs, *builder; } Check;

typedef struct {
    Py_ssize_t nsteps;
    PyObject **steps; /* NULL: every array item */
    PyObject **texts; /* each step as pointer text, "/name" escaped */
    Py_ssize_t limit; /* items past it get no advice; -1: none */
    Union *u;
} Loc;

typedef struct {
    Node *node;
    int diag;
    Py_ssize_t nlocs;
    Loc *locs;
    PyObject *unknown; /* frozenset of declared names, or NULL */
    int unknown_by_count; /* the node's properties are exactly those names */
    Py_ssize_t nchecks;
    Check *checks;
    PyObject *media; /* lower-case media prefix, or NULL */
    /* Warnings the core is sure of become records (builder, pointer, value), in the
       Python advisor's order, when records_ok; otherwise any warning means "advise in Python". */
    int records_ok;
    PyObject *unknown_builder, *media_builder;
} Branch;

struct Union {
    PyObject *prop, *site, *table; /* table: value -> branch index */
};

typedef struct {
    PyObject_HEAD
    PyObject *source; /* keeps every borrowed object below alive */
    Py_ssize_t nnodes, nbranches, nunions;
    Node *nodes;
    Branch *branches;
    Union *unions;
    int root_union;
    Py_ssize_t root;
    PyObject *media_type; /* "media_type" */
    /* What lint() calls around run(): see Program.bind. */
    PyObject *loads, *decode_error, *clean, *exact, *advise, *warned, *make, *lazy_type, *pending_slot;
} Program;

/* -- building a program from its tuples --------------------------------------------- */

static int fail(const char *what) {
    if (!PyErr_Occurred()) PyErr_Format(PyExc_ValueError, "malformed native program: %s", what);
    return -1;
}

static PyObject *opt(PyObject *o) { return o == Py_None ? NULL : o; }

static int get_index(PyObject *o, Py_ssize_t n, Py_ssize_t *out) {
    Py_ssize_t i = PyLong_AsSsize_t(o);
    if (i == -1 && PyErr_Occurred()) return -1;
    if (i < -1 || i >= n) return fail("index out of range");
    *out = i;
    return 0;
}

static int get_size(PyObject *o, Py_ssize_t *out) {
    Py_ssize_t i = PyLong_AsSsize_t(o);
    if (i == -1 && PyErr_Occurred()) return -1;
    *out = i;
    return 0;
}

static int tuple_of(PyObject *o, Py_ssize_t n, const char *what) {
    if (!PyTuple_Check(o) || (n >= 0 && PyTuple_GET_SIZE(o) != n)) return fail(what);
    return 0;
}

static int build_node(Program *p, Node *n, PyObject *t) {
    Py_ssize_t i, k;
    if (tuple_of(t, 23, "node") < 0) return -1;
    long type = PyLong_AsLong(PyTuple_GET_ITEM(t, 0));
    if (type < T_NONE || type > T_NULL) return fail("type");
    n->type = (int)type;
    n->type_site = PyTuple_GET_ITEM(t, 1);
    n->const_value = opt(PyTuple_GET_ITEM(t, 2));
    if (n->const_value && !PyUnicode_CheckExact(n->const_value)) return fail("const");
    n->const_site = PyTuple_GET_ITEM(t, 3);
    n->enum_set = opt(PyTuple_GET_ITEM(t, 4));
    if (n->enum_set && !PyFrozenSet_CheckExact(n->enum_set)) return fail("enum");
    n->enum_site = PyTuple_GET_ITEM(t, 5);
    if (get_size(PyTuple_GET_ITEM(t, 6), &n->min_len) < 0) return -1;
    n->min_len_site = PyTuple_GET_ITEM(t, 7);
    if (get_size(PyTuple_GET_ITEM(t, 8), &n->max_len) < 0) return -1;
    n->max_len_site = PyTuple_GET_ITEM(t, 9);
    if (get_size(PyTuple_GET_ITEM(t, 10), &n->min_items) < 0) return -1;
    n->min_items_site = PyTuple_GET_ITEM(t, 11);
    if (get_size(PyTuple_GET_ITEM(t, 12), &n->max_items) < 0) return -1;
    n->max_items_site = PyTuple_GET_ITEM(t, 13);
    if (get_index(PyTuple_GET_ITEM(t, 14), p->nnodes, &k) < 0) return -1;
    n->items = k < 0 ? NULL : &p->nodes[k];
    PyObject *props = PyTuple_GET_ITEM(t, 15);
    if (tuple_of(props, -1, "properties") < 0) return -1;
    n->nprops = PyTuple_GET_SIZE(props);
    n->props = PyMem_Calloc(n->nprops ? n->nprops : 1, sizeof(Prop));
    if (!n->props) return PyErr_NoMemory(), -1;
    for (i = 0; i < n->nprops; i++) {
        PyObject *e = PyTuple_GET_ITEM(props, i);
        if (tuple_of(e, 3, "property") < 0) return -1;
        n->props[i].name = PyTuple_GET_ITEM(e, 0);
        n->props[i].step = PyTuple_GET_ITEM(e, 1);
        if (!PyUnicode_CheckExact(n->props[i].name) || !PyUnicode_CheckExact(n->props[i].step))
            return fail("property name");
        if (get_index(PyTuple_GET_ITEM(e, 2), p->nnodes, &k) < 0) return -1;
        n->props[i].node = k < 0 ? NULL : &p->nodes[k];
    }
    PyObject *req = PyTuple_GET_ITEM(t, 16);
    if (tuple_of(req, -1, "required") < 0) return -1;
    n->nrequired = PyTuple_GET_SIZE(req);
    n->required = PyMem_Calloc(n->nrequired ? n->nrequired : 1, sizeof(Required));
    if (!n->required) return PyErr_NoMemory(), -1;
    for (i = 0; i < n->nrequired; i++) {
        PyObject *e = PyTuple_GET_ITEM(req, i);
        if (tuple_of(e, 3, "required entry") < 0) return -1;
        n->required[i].name = PyTuple_GET_ITEM(e, 0);
        n->required[i].site = PyTuple_GET_ITEM(e, 1);
        if (!PyUnicode_CheckExact(n->required[i].name)) return fail("required name");
        if (get_index(PyTuple_GET_ITEM(e, 2), n->nprops, &n->required[i].prop) < 0) return -1;
    }
    n->closed = PyObject_IsTrue(PyTuple_GET_ITEM(t, 17));
    n->ap_site = PyTuple_GET_ITEM(t, 18);
    n->propset = opt(PyTuple_GET_ITEM(t, 19));
    if (n->closed && (!n->propset || !PyFrozenSet_CheckExact(n->propset))) return fail("propset");
    PyObject *any = PyTuple_GET_ITEM(t, 20);
    if (tuple_of(any, -1, "anyOf") < 0) return -1;
    n->nany = PyTuple_GET_SIZE(any);
    if (n->nany > MAX_ANY) return fail("anyOf too wide");
    n->any = PyMem_Calloc(n->nany ? n->nany : 1, sizeof(Node *));
    if (!n->any) return PyErr_NoMemory(), -1;
    for (i = 0; i < n->nany; i++) {
        if (get_index(PyTuple_GET_ITEM(any, i), p->nnodes, &k) < 0) return -1;
        n->any[i] = k < 0 ? NULL : &p->nodes[k];
    }
    n->any_site = PyTuple_GET_ITEM(t, 21);
    n->check = opt(PyTuple_GET_ITEM(t, 22));
    if (n->check && !PyCallable_Check(n->check)) return fail("check");
    return 0;
}

static int build_branch(Program *p, Branch *b, PyObject *t) {
    Py_ssize_t i, j, k;
    if (tuple_of(t, 10, "branch") < 0) return -1;
    if (get_index(PyTuple_GET_ITEM(t, 0), p->nnodes, &k) < 0) return -1;
    b->node = k < 0 ? NULL : &p->nodes[k];
    b->diag = PyObject_IsTrue(PyTuple_GET_ITEM(t, 1));
    PyObject *locs = PyTuple_GET_ITEM(t, 2);
    if (tuple_of(locs, -1, "locations") < 0) return -1;
    b->nlocs = PyTuple_GET_SIZE(locs);
    b->locs = PyMem_Calloc(b->nlocs ? b->nlocs : 1, sizeof(Loc));
    if (!b->locs) return PyErr_NoMemory(), -1;
    for (i = 0; i < b->nlocs; i++) {
        PyObject *e = PyTuple_GET_ITEM(locs, i);
        Loc *loc = &b->locs[i];
        if (tuple_of(e, 4, "location") < 0) return -1;
        PyObject *steps = PyTuple_GET_ITEM(e, 0), *texts = PyTuple_GET_ITEM(e, 1);
        if (tuple_of(steps, -1, "steps") < 0) return -1;
        loc->nsteps = PyTuple_GET_SIZE(steps);
        if (loc->nsteps > MAX_DEPTH) return fail("location too long");
        if (tuple_of(texts, loc->nsteps, "step texts") < 0) return -1;
        loc->steps = PyMem_Calloc(loc->nsteps ? loc->nsteps : 1, sizeof(PyObject *));
        loc->texts = PyMem_Calloc(loc->nsteps ? loc->nsteps : 1, sizeof(PyObject *));
        if (!loc->steps || !loc->texts) return PyErr_NoMemory(), -1;
        for (j = 0; j < loc->nsteps; j++) {
            PyObject *s = PyTuple_GET_ITEM(steps, j), *x = PyTuple_GET_ITEM(texts, j);
            if (s != Py_None && (!PyUnicode_CheckExact(s) || !PyUnicode_CheckExact(x))) return fail("step");
            loc->steps[j] = opt(s);
            loc->texts[j] = opt(x);
        }
        if (get_size(PyTuple_GET_ITEM(e, 2), &loc->limit) < 0) return -1;
        if (get_index(PyTuple_GET_ITEM(e, 3), p->nunions, &k) < 0) return -1;
        if (k < 0) return fail("location union");
        loc->u = &p->unions[k];
    }
    b->unknown = opt(PyTuple_GET_ITEM(t, 3));
    if (b->unknown && !PyFrozenSet_CheckExact(b->unknown)) return fail("unknown");
    PyObject *checks = PyTuple_GET_ITEM(t, 4);
    if (tuple_of(checks, -1, "checks") < 0) return -1;
    b->nchecks = PyTuple_GET_SIZE(checks);
    b->checks = PyMem_Calloc(b->nchecks ? b->nchecks : 1, sizeof(Check));
    if (!b->checks) return PyErr_NoMemory(), -1;
    for (i = 0; i < b->nchecks; i++) {
        PyObject *e = PyTuple_GET_ITEM(checks, i);
        if (tuple_of(e, 4, "check") < 0) return -1;
        b->checks[i].name = PyTuple_GET_ITEM(e, 0);
        b->checks[i].code = (int)PyLong_AsLong(PyTuple_GET_ITEM(e, 1));
        b->checks[i].needs = opt(PyTuple_GET_ITEM(e, 2));
        b->checks[i].builder = PyTuple_GET_ITEM(e, 3);
        if (b->checks[i].code < A_BLANK || b->checks[i].code > A_NEEDS) return fail("check code");
        if (b->checks[i].code == A_NEEDS && !b->checks[i].needs) return fail("needs");
    }
    b->media = opt(PyTuple_GET_ITEM(t, 5));
    if (b->media && !PyUnicode_CheckExact(b->media)) return fail("media");
    b->unknown_by_count = PyObject_IsTrue(PyTuple_GET_ITEM(t, 6));
    b->records_ok = PyObject_IsTrue(PyTuple_GET_ITEM(t, 7));
    b->unknown_builder = PyTuple_GET_ITEM(t, 8);
    b->media_builder = PyTuple_GET_ITEM(t, 9);
    return 0;
}

static void program_free(Program *p) {
    Py_ssize_t i, j;
    if (p->nodes) {
        for (i = 0; i < p->nnodes; i++) {
            PyMem_Free(p->nodes[i].props);
            PyMem_Free(p->nodes[i].required);
            PyMem_Free(p->nodes[i].any);
        }
        PyMem_Free(p->nodes);
        p->nodes = NULL;
    }
    if (p->branches) {
        for (i = 0; i < p->nbranches; i++) {
            Branch *b = &p->branches[i];
            if (b->locs)
                for (j = 0; j < b->nlocs; j++) {
                    PyMem_Free(b->locs[j].steps);
                    PyMem_Free(b->locs[j].texts);
                }
            PyMem_Free(b->locs);
            PyMem_Free(b->checks);
        }
        PyMem_Free(p->branches);
        p->branches = NULL;
    }
    PyMem_Free(p->unions);
    p->unions = NULL;
    Py_CLEAR(p->source);
    Py_CLEAR(p->media_type);
    Py_CLEAR(p->loads);
    Py_CLEAR(p->decode_error);
    Py_CLEAR(p->clean);
    Py_CLEAR(p->exact);
    Py_CLEAR(p->advise);
    Py_CLEAR(p->make);
    Py_CLEAR(p->warned);
    Py_CLEAR(p->lazy_type);
    Py_CLEAR(p->pending_slot);
}

static int program_init(Program *p, PyObject *args, PyObject *kwds) {
    PyObject *nodes, *branches, *unions;
    int root_union;
    Py_ssize_t root, i;
    static char *names[] = {"nodes", "branches", "unions", "root_union", "root", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!O!O!pn", names, &PyTuple_Type, &nodes,
                                     &PyTuple_Type, &branches, &PyTuple_Type, &unions, &root_union,
                                     &root))
        return -1;
    program_free(p);
    p->source = PyTuple_Pack(3, nodes, branches, unions);
    p->media_type = PyUnicode_InternFromString("media_type");
    if (!p->source || !p->media_type) return -1;
    p->nnodes = PyTuple_GET_SIZE(nodes);
    p->nbranches = PyTuple_GET_SIZE(branches);
    p->nunions = PyTuple_GET_SIZE(unions);
    p->nodes = PyMem_Calloc(p->nnodes ? p->nnodes : 1, sizeof(Node));
    p->branches = PyMem_Calloc(p->nbranches ? p->nbranches : 1, sizeof(Branch));
    p->unions = PyMem_Calloc(p->nunions ? p->nunions : 1, sizeof(Union));
    if (!p->nodes || !p->branches || !p->unions) goto nomem;
    for (i = 0; i < p->nnodes; i++)
        if (build_node(p, &p->nodes[i], PyTuple_GET_ITEM(nodes, i)) < 0) goto error;
    for (i = 0; i < p->nunions; i++) {
        PyObject *e = PyTuple_GET_ITEM(unions, i);
        if (tuple_of(e, 3, "union") < 0) goto error;
        p->unions[i].prop = PyTuple_GET_ITEM(e, 0);
        p->unions[i].site = PyTuple_GET_ITEM(e, 1);
        p->unions[i].table = PyTuple_GET_ITEM(e, 2);
        if (!PyUnicode_CheckExact(p->unions[i].prop) || !PyDict_CheckExact(p->unions[i].table)) {
            fail("union");
            goto error;
        }
        PyObject *key, *value;
        Py_ssize_t pos = 0, k;
        while (PyDict_Next(p->unions[i].table, &pos, &key, &value))
            if (get_index(value, p->nbranches, &k) < 0 || k < 0) {
                fail("union table");
                goto error;
            }
    }
    for (i = 0; i < p->nbranches; i++)
        if (build_branch(p, &p->branches[i], PyTuple_GET_ITEM(branches, i)) < 0) goto error;
    p->root_union = root_union;
    if (root < 0 || root >= (root_union ? p->nunions : p->nbranches)) {
        fail("root");
        goto error;
    }
    p->root = root;
    return 0;
nomem:
    PyErr_NoMemory();
error:
    program_free(p);
    return -1;
}

static void program_dealloc(Program *p) {
    PyObject_GC_UnTrack(p);
    program_free(p);
    Py_TYPE(p)->tp_free((PyObject *)p);
}

/* The bound callables close over the plan that holds this program: a cycle the GC must see. */
static int program_traverse(Program *p, visitproc visit, void *arg) {
    Py_VISIT(p->source);
    Py_VISIT(p->loads);
    Py_VISIT(p->decode_error);
    Py_VISIT(p->clean);
    Py_VISIT(p->exact);
    Py_VISIT(p->advise);
    Py_VISIT(p->make);
    Py_VISIT(p->warned);
    Py_VISIT(p->lazy_type);
    Py_VISIT(p->pending_slot);
    return 0;
}

static int program_clear(Program *p) {
    program_free(p);
    return 0;
}

/* -- running it ------------------------------------------------------------------------ */

typedef struct {
    Py_ssize_t count;
    PyObject *first; /* the first record, owned */
} Scope;

typedef struct {
    Program *p;
    PyObject *records; /* list, made at the first error */
    PyObject *warnings; /* advice records, made at the first sure warning */
    int fallback, advise /* a warning the Python advisor must write */, depth;
    PyObject *steps[MAX_DEPTH];
    Py_ssize_t index[MAX_DEPTH];
} Ctx;

static int push_step(Ctx *c, PyObject *step, Py_ssize_t index) {
    if (c->depth >= MAX_DEPTH) {
        c->fallback = 1;
        return -1;
    }
    c->steps[c->depth] = step;
    c->index[c->depth] = index;
    c->depth++;
    return 0;
}

static PyObject *pointer(Ctx *c) {
    PyObject *parts, *empty, *out;
    int i;
    /* Most findings sit at the root or one field down: no join for those. */
    if (c->depth == 0) return PyUnicode_FromStringAndSize("", 0);
    if (c->depth == 1 && c->steps[0]) return Py_NewRef(c->steps[0]);
    if (!(parts = PyList_New(c->depth))) return NULL;
    for (i = 0; i < c->depth; i++) {
        PyObject *s = c->steps[i];
        if (s) Py_INCREF(s);
        else s = PyUnicode_FromFormat("/%zd", c->index[i]);
        if (!s) {
            Py_DECREF(parts);
            return NULL;
        }
        PyList_SET_ITEM(parts, i, s);
    }
    empty = PyUnicode_FromStringAndSize("", 0);
    out = empty ? PyUnicode_Join(empty, parts) : NULL;
    Py_XDECREF(empty);
    Py_DECREF(parts);
    return out;
}

static PyObject *record(Ctx *c, PyObject *site, PyObject *value, PyObject *extra) {
    PyObject *at = pointer(c), *out;
    if (!at) return NULL;
    out = PyTuple_Pack(4, site, at, value ? value : Py_None, extra ? extra : Py_None);
    Py_DECREF(at);
    return out;
}

static void python_failed(Ctx *c) {
    PyErr_Clear();
    c->fallback = 1;
}

static void emit(Ctx *c, Scope *s, PyObject *site, PyObject *value, PyObject *extra) {
    if (++s->count == 1) {
        s->first = record(c, site, value, extra);
        if (!s->first) python_failed(c);
    }
}

static void add_record(Ctx *c, PyObject *rec) {
    if (!c->records && !(c->records = PyList_New(0))) {
        python_failed(c);
        return;
    }
    if (PyList_Append(c->records, rec) < 0) python_failed(c);
}

static int type_ok(int type, PyObject *v) {
    switch (type) {
    case T_OBJECT: return PyDict_CheckExact(v);
    case T_ARRAY: return PyList_CheckExact(v);
    case T_STRING: return PyUnicode_CheckExact(v);
    case T_BOOLEAN: return PyBool_Check(v);
    case T_NULL: return v == Py_None;
    default: return 1;
    }
}

static void check_node(Ctx *c, Node *n, PyObject *v, Scope *s, Py_ssize_t *found);

static void check_any(Ctx *c, Node *n, PyObject *v, Scope *s) {
    Scope alt[MAX_ANY];
    int flags[MAX_ANY];
    Py_ssize_t i, k = n->nany, open = 0, which = -1;
    memset(alt, 0, sizeof(alt));
    for (i = 0; i < k; i++) {
        Node *sub = n->any[i];
        flags[i] = sub && sub->type != T_NONE && !type_ok(sub->type, v);
        check_node(c, sub, v, &alt[i], NULL);
        if (c->fallback || alt[i].count == 0) {
            k = i + 1; /* a branch passed (or we stop): no anyOf error */
            goto done;
        }
    }
    for (i = 0; i < k; i++)
        if (!flags[i]) {
            open++;
            which = i;
        }
    if (open == 1) {
        /* That branch's errors stand, in its order. */
        s->count += alt[which].count;
        if (!s->first) {
            s->first = alt[which].first;
            alt[which].first = NULL;
        }
    } else {
        PyObject *t = PyTuple_New(k);
        if (!t) {
            python_failed(c);
            goto done;
        }
        for (i = 0; i < k; i++) PyTuple_SET_ITEM(t, i, Py_NewRef(flags[i] ? Py_True : Py_False));
        emit(c, s, n->any_site, v, t);
        Py_DECREF(t);
    }
done:
    for (i = 0; i < k; i++) Py_XDECREF(alt[i].first);
}

/* ``found``, when given, receives how many declared properties the object has. */
static void check_node(Ctx *c, Node *n, PyObject *v, Scope *s, Py_ssize_t *found) {
    Py_ssize_t i;
    if (!n) return;
    if (n->check) {
        /* A node only jsonschema-rs checks: its verdict alone; an error here is
           not ours to describe, so it counts as two (the body goes to Python). */
        PyObject *r = PyObject_CallOneArg(n->check, v);
        int ok = r ? PyObject_IsTrue(r) : -1;
        Py_XDECREF(r);
        if (ok < 0) python_failed(c);
        else if (!ok) s->count += 2;
        return;
    }
    if (n->const_value) {
        int same = PyUnicode_CheckExact(v) ? PyUnicode_Compare(v, n->const_value) == 0 : 0;
        if (!same) emit(c, s, n->const_site, v, NULL);
    }
    if (n->enum_set) {
        int in = PyUnicode_CheckExact(v) ? PySet_Contains(n->enum_set, v) : 0;
        if (in < 0) return python_failed(c);
        if (!in) emit(c, s, n->enum_site, v, NULL);
    }
    if (c->fallback || s->count > 1) return;
    if (n->nany) {
        check_any(c, n, v, s);
        if (c->fallback || s->count > 1) return;
    }
    if (n->type != T_NONE && !type_ok(n->type, v)) emit(c, s, n->type_site, v, NULL);
    if (PyUnicode_CheckExact(v)) {
        Py_ssize_t len = PyUnicode_GET_LENGTH(v);
        if (n->min_len >= 0 && len < n->min_len) emit(c, s, n->min_len_site, v, NULL);
        if (n->max_len >= 0 && len > n->max_len) emit(c, s, n->max_len_site, v, NULL);
    } else if (PyList_CheckExact(v)) {
        Py_ssize_t len = PyList_GET_SIZE(v);
        if (n->min_items >= 0 && len < n->min_items) emit(c, s, n->min_items_site, v, NULL);
        if (n->max_items >= 0 && len > n->max_items) emit(c, s, n->max_items_site, v, NULL);
        if (n->items)
            for (i = 0; i < PyList_GET_SIZE(v) && !c->fallback && s->count < 2; i++) {
                if (push_step(c, NULL, i) < 0) return;
                check_node(c, n->items, PyList_GET_ITEM(v, i), s, NULL);
                c->depth--;
            }
    } else if (PyDict_CheckExact(v)) {
        /* One lookup per declared property: presence answers `required`, and
           the count of those present answers `additionalProperties: false`
           unless the object has more keys than that. */
        unsigned char present[MAX_PROPS];
        Py_ssize_t have = 0;
        memset(present, 0, sizeof(present));
        for (i = 0; i < n->nprops && !c->fallback && s->count < 2; i++) {
            Prop *pr = &n->props[i];
            PyObject *item = PyDict_GetItemWithError(v, pr->name);
            if (!item) {
                if (PyErr_Occurred()) return python_failed(c);
                continue;
            }
            have++;
            if (i < MAX_PROPS) present[i] = 1;
            if (!pr->node) continue;
            if (push_step(c, pr->step, 0) < 0) return;
            check_node(c, pr->node, item, s, NULL);
            c->depth--;
        }
        if (c->fallback || s->count > 1) return;
        for (i = 0; i < n->nrequired && s->count < 2; i++) {
            Required *r = &n->required[i];
            int has;
            if (r->prop >= 0 && r->prop < MAX_PROPS) has = present[r->prop];
            else if ((has = PyDict_Contains(v, r->name)) < 0) return python_failed(c);
            if (!has) emit(c, s, r->site, NULL, NULL);
        }
        if (n->closed && s->count < 2 && PyDict_GET_SIZE(v) != have) {
            PyObject *key, *item;
            Py_ssize_t pos = 0;
            while (s->count < 2 && PyDict_Next(v, &pos, &key, &item)) {
                int in = PySet_Contains(n->propset, key);
                if (in < 0) return python_failed(c);
                if (!in) emit(c, s, n->ap_site, key, NULL);
            }
        }
        if (found) *found = have;
    }
}

/* -- advice: may any warning fire on this object? (a superset; Python decides) ---------- */

static int ascii_prefix_is(PyObject *v, const char *want, Py_ssize_t k) {
    /* 1: the first k code points are ASCII and equal ``want`` ignoring case; 0: they surely
       differ (Python's lower() agrees on ASCII); -1: a non-ASCII character decides it. */
    Py_ssize_t i, n = PyUnicode_GET_LENGTH(v);
    int kind = PyUnicode_KIND(v);
    const void *data = PyUnicode_DATA(v);
    for (i = 0; i < k && i < n; i++) {
        Py_UCS4 ch = PyUnicode_READ(kind, data, i);
        if (ch >= 128) return -1;
        if (ch >= 'A' && ch <= 'Z') ch += 'a' - 'A';
        if (ch != (Py_UCS4)(unsigned char)want[i]) return 0;
    }
    return n >= k;
}

static int is_blank(PyObject *v) {
    Py_ssize_t i, n = PyUnicode_GET_LENGTH(v);
    int kind = PyUnicode_KIND(v);
    const void *data = PyUnicode_DATA(v);
    for (i = 0; i < n; i++)
        if (!Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, i))) return 0;
    return 1;
}

static int base64_char(unsigned char ch) {
    return (unsigned char)(ch - 'A') < 26 || (unsigned char)(ch - 'a') < 26 ||
           (unsigned char)(ch - '0') < 10 || ch == '+' || ch == '/';
}

static int canonical_base64(PyObject *v) {
    /* Canonical base64 always decodes (see _advice.decodes); anything else: ask Python. */
    Py_ssize_t i, n, body, pads;
    if (!PyUnicode_IS_ASCII(v)) return 0;
    const unsigned char *s = PyUnicode_1BYTE_DATA(v);
    n = PyUnicode_GET_LENGTH(v);
    body = n;
    while (body > 0 && s[body - 1] == '=') body--;
    pads = n - body;
    i = 0;
#ifdef __SSE2__
    /* 16 bytes at a time (data fields run to megabytes); all are ASCII, so signed compares hold. */
    {
        const __m128i A = _mm_set1_epi8('A' - 1), Z = _mm_set1_epi8('Z' + 1);
        const __m128i a = _mm_set1_epi8('a' - 1), z = _mm_set1_epi8('z' + 1);
        const __m128i d0 = _mm_set1_epi8('0' - 1), d9 = _mm_set1_epi8('9' + 1);
        const __m128i plus = _mm_set1_epi8('+'), slash = _mm_set1_epi8('/');
        for (; i + 16 <= body; i += 16) {
            __m128i x = _mm_loadu_si128((const __m128i *)(s + i));
            __m128i ok = _mm_or_si128(
                _mm_or_si128(_mm_and_si128(_mm_cmpgt_epi8(x, A), _mm_cmpgt_epi8(Z, x)),
                             _mm_and_si128(_mm_cmpgt_epi8(x, a), _mm_cmpgt_epi8(z, x))),
                _mm_or_si128(_mm_and_si128(_mm_cmpgt_epi8(x, d0), _mm_cmpgt_epi8(d9, x)),
                             _mm_or_si128(_mm_cmpeq_epi8(x, plus), _mm_cmpeq_epi8(x, slash))));
            if (_mm_movemask_epi8(ok) != 0xFFFF) return 0;
        }
    }
#endif
    for (; i < body; i++)
        if (!base64_char(s[i])) return 0;
    switch (body % 4) {
    case 0: return pads == 0;
    case 2: return pads == 2;
    case 3: return pads == 1;
    default: return 0;
    }
}

/* A warning the core is sure of: a record for the Python builder, or (where records
   cannot keep the advisor's order) the whole advice goes to Python. */
static void warn(Ctx *c, Branch *b, PyObject *builder, PyObject *value) {
    PyObject *rec;
    if (!b->records_ok) {
        c->advise = 1;
        return;
    }
    if (!c->warnings && !(c->warnings = PyList_New(0))) return python_failed(c);
    rec = record(c, builder, value, NULL);
    if (!rec) return python_failed(c);
    /* (builder, pointer, value): record() packs a fourth item, unused here. */
    if (PyList_Append(c->warnings, rec) < 0) python_failed(c);
    Py_DECREF(rec);
}

static void unknown_fields(Ctx *c, Branch *b, PyObject *obj) {
    PyObject *key, *item, *names = PyList_New(0);
    Py_ssize_t pos = 0, i;
    if (!names) return python_failed(c);
    while (PyDict_Next(obj, &pos, &key, &item)) {
        int in = PySet_Contains(b->unknown, key);
        if (in < 0 || (!in && PyList_Append(names, key) < 0)) {
            Py_DECREF(names);
            return python_failed(c);
        }
    }
    /* The advisor lists them sorted, as str. */
    if (!b->records_ok || PyList_Sort(names) < 0) {
        Py_DECREF(names);
        if (PyErr_Occurred()) return python_failed(c);
        c->advise = 1;
        return;
    }
    for (i = 0; i < PyList_GET_SIZE(names) && !c->fallback; i++)
        warn(c, b, b->unknown_builder, PyList_GET_ITEM(names, i));
    Py_DECREF(names);
}

static void advise(Ctx *c, Branch *b, PyObject *obj, Py_ssize_t declared) {
    /* The Python advisor's order: unknown fields (the first rule), the field checks, media. */
    Py_ssize_t i;
    if (b->unknown && (!b->unknown_by_count || declared < 0 || PyDict_GET_SIZE(obj) != declared)) {
        unknown_fields(c, b, obj);
        if (c->advise || c->fallback) return;
    }
    for (i = 0; i < b->nchecks; i++) {
        Check *k = &b->checks[i];
        PyObject *v = PyDict_GetItemWithError(obj, k->name);
        if (!v) {
            if (PyErr_Occurred()) return python_failed(c);
            continue;
        }
        int fires = 0; /* 1: surely, -1: perhaps (Python decides) */
        if (k->code == A_NEEDS) {
            if (PyList_CheckExact(v) && PyList_GET_SIZE(v) > 0) {
                PyObject *w = PyDict_GetItemWithError(obj, k->needs);
                if (!w && PyErr_Occurred()) return python_failed(c);
                int truth = w ? PyObject_IsTrue(w) : 0;
                if (truth < 0) return python_failed(c);
                fires = !truth;
            }
        } else if (PyUnicode_CheckExact(v)) {
            if (k->code == A_BLANK) fires = is_blank(v);
            else if (k->code == A_HTTPS) {
                int same = ascii_prefix_is(v, "https://", 8);
                fires = same < 0 ? -1 : !same;
            } else fires = canonical_base64(v) ? 0 : -1;
        }
        if (fires < 0) {
            c->advise = 1;
            return;
        }
        if (fires) {
            warn(c, b, k->builder, k->code == A_NEEDS ? Py_None : v);
            if (c->advise || c->fallback) return;
        }
    }
    if (b->media) {
        PyObject *v = PyDict_GetItemWithError(obj, c->p->media_type);
        if (!v && PyErr_Occurred()) return python_failed(c);
        if (v && PyUnicode_CheckExact(v)) {
            Py_ssize_t k;
            const char *want = PyUnicode_AsUTF8AndSize(b->media, &k);
            if (!want) return python_failed(c);
            int same = ascii_prefix_is(v, want, k);
            if (same < 0) c->advise = 1;
            else if (!same) warn(c, b, b->media_builder, v);
        }
    }
}

/* -- the tree: branches, their nested unions, and the unions' dispatch ------------------- */

static void walk_union(Ctx *c, Union *u, PyObject *v, int advice);

static void walk_loc(Ctx *c, Loc *loc, Py_ssize_t i, PyObject *v, int advice) {
    if (c->fallback) return;
    if (i == loc->nsteps) {
        walk_union(c, loc->u, v, advice);
        return;
    }
    if (!loc->steps[i]) {
        Py_ssize_t j;
        if (!PyList_CheckExact(v)) return;
        if (loc->limit >= 0 && PyList_GET_SIZE(v) > loc->limit) advice = 0;
        for (j = 0; j < PyList_GET_SIZE(v) && !c->fallback; j++) {
            if (push_step(c, NULL, j) < 0) return;
            walk_loc(c, loc, i + 1, PyList_GET_ITEM(v, j), advice);
            c->depth--;
        }
        return;
    }
    if (!PyDict_CheckExact(v)) return;
    PyObject *item = PyDict_GetItemWithError(v, loc->steps[i]);
    if (!item) {
        if (PyErr_Occurred()) python_failed(c);
        return;
    }
    if (push_step(c, loc->texts[i], 0) < 0) return;
    walk_loc(c, loc, i + 1, item, advice);
    c->depth--;
}

static void walk_branch(Ctx *c, Branch *b, PyObject *v, int advice) {
    Scope s = {0, NULL};
    Py_ssize_t i, declared = -1;
    check_node(c, b->node, v, &s, &declared);
    if (c->fallback || (s.count && (!b->diag || s.count > 1))) {
        c->fallback = 1;
        Py_XDECREF(s.first);
        return;
    }
    if (s.first) {
        add_record(c, s.first);
        Py_DECREF(s.first);
        if (c->fallback) return;
    }
    if (advice && !c->advise && PyDict_CheckExact(v)) {
        advise(c, b, v, declared);
        if (c->fallback) return;
    }
    for (i = 0; i < b->nlocs && !c->fallback; i++) walk_loc(c, &b->locs[i], 0, v, advice);
}

static void union_record(Ctx *c, Union *u, PyObject *value, long kind) {
    PyObject *k = PyLong_FromLong(kind), *rec;
    if (!k) return python_failed(c);
    rec = record(c, u->site, value, k);
    Py_DECREF(k);
    if (!rec) return python_failed(c);
    add_record(c, rec);
    Py_DECREF(rec);
}

static void walk_union(Ctx *c, Union *u, PyObject *v, int advice) {
    if (!PyDict_CheckExact(v)) return union_record(c, u, v, 0);
    PyObject *value = PyDict_GetItemWithError(v, u->prop);
    if (!value) {
        if (PyErr_Occurred()) return python_failed(c);
        return union_record(c, u, NULL, 1);
    }
    if (PyUnicode_CheckExact(value)) {
        PyObject *index = PyDict_GetItemWithError(u->table, value);
        if (index) {
            walk_branch(c, &c->p->branches[PyLong_AsSsize_t(index)], v, advice);
            return;
        }
        if (PyErr_Occurred()) return python_failed(c);
    }
    union_record(c, u, value, 2);
}

static PyObject *program_run(Program *p, PyObject *value) {
    Ctx c;
    c.p = p;
    c.records = c.warnings = NULL;
    c.fallback = c.advise = c.depth = 0;
    if (!p->nodes) Py_RETURN_FALSE;
    if (p->root_union) walk_union(&c, &p->unions[p->root], value, 1);
    else walk_branch(&c, &p->branches[p->root], value, 1);
    if (c.fallback) {
        PyErr_Clear();
        Py_XDECREF(c.records);
        Py_XDECREF(c.warnings);
        Py_RETURN_FALSE;
    }
    if (c.advise) Py_CLEAR(c.warnings); /* the Python advisor writes them all */
    if (!c.records) {
        if (c.advise) Py_RETURN_TRUE;
        if (c.warnings) return c.warnings;
        Py_RETURN_NONE;
    }
    PyObject *out = c.advise ? Py_BuildValue("(NO)", c.records, Py_True)
                  : c.warnings ? Py_BuildValue("(NN)", c.records, c.warnings)
                  : Py_BuildValue("(NO)", c.records, Py_False);
    if (!out) {
        PyErr_Clear();
        Py_RETURN_FALSE;
    }
    return out;
}

static PyObject *program_bind(Program *p, PyObject *args) {
    PyObject *loads, *decode_error, *clean, *exact, *advise, *warned, *make, *lazy_type, *pending_slot;
    if (!PyArg_ParseTuple(args, "OOOOOOOOO", &loads, &decode_error, &clean, &exact, &advise, &warned, &make,
                          &lazy_type, &pending_slot))
        return NULL;
    if (!PyCallable_Check(loads) || !PyCallable_Check(exact) || !PyCallable_Check(advise) ||
        !PyCallable_Check(warned) ||
        !PyCallable_Check(make) || !PyExceptionClass_Check(decode_error) || !PyType_Check(lazy_type) ||
        !Py_TYPE(pending_slot)->tp_descr_set) {
        PyErr_SetString(PyExc_TypeError,
                        "bind(loads, decode_error, clean, exact, advise, warned, make, lazy_type, pending_slot)");
        return NULL;
    }
    Py_XSETREF(p->loads, Py_NewRef(loads));
    Py_XSETREF(p->decode_error, Py_NewRef(decode_error));
    Py_XSETREF(p->clean, Py_NewRef(clean));
    Py_XSETREF(p->exact, Py_NewRef(exact));
    Py_XSETREF(p->advise, Py_NewRef(advise));
    Py_XSETREF(p->make, Py_NewRef(make));
    Py_XSETREF(p->warned, Py_NewRef(warned));
    Py_XSETREF(p->lazy_type, Py_NewRef(lazy_type));
    Py_XSETREF(p->pending_slot, Py_NewRef(pending_slot));
    Py_RETURN_NONE;
}

/* A lazy report whose findings will be make(verdict, value): allocated and its one slot
   set here, without a Python __init__ (a third of an invalid body's time otherwise). */
static PyObject *lazy_report(Program *p, PyObject *verdict, PyObject *value) {
    PyTypeObject *type = (PyTypeObject *)p->lazy_type;
    PyObject *report = type->tp_alloc(type, 0), *pending;
    if (!report) return NULL;
    pending = PyTuple_Pack(3, p->make, verdict, value);
    if (!pending || Py_TYPE(p->pending_slot)->tp_descr_set(p->pending_slot, report, pending) < 0) {
        Py_XDECREF(pending);
        Py_DECREF(report);
        return NULL;
    }
    Py_DECREF(pending);
    return report;
}

/* The whole hot path in one call: parse, run, and the report (or the Python path). */
static PyObject *program_lint(Program *p, PyObject *payload) {
    PyObject *value, *verdict, *out;
    if (!p->loads) {
        PyErr_SetString(PyExc_RuntimeError, "Program.lint before Program.bind");
        return NULL;
    }
    if (!PyBytes_CheckExact(payload) && !PyUnicode_CheckExact(payload))
        return PyObject_CallOneArg(p->exact, payload);
    value = PyObject_CallOneArg(p->loads, payload);
    if (!value) {
        if (!PyErr_ExceptionMatches(p->decode_error)) return NULL;
        PyErr_Clear(); /* not JSON, or JSON orjson refuses: the Python path explains */
        return PyObject_CallOneArg(p->exact, payload);
    }
    verdict = program_run(p, value);
    if (!verdict) {
        Py_DECREF(value);
        return NULL;
    }
    if (verdict == Py_None) out = Py_NewRef(p->clean);
    else if (verdict == Py_True) out = PyObject_CallOneArg(p->advise, value);
    else if (verdict == Py_False) out = PyObject_CallOneArg(p->exact, value);
    else if (PyList_CheckExact(verdict)) out = PyObject_CallOneArg(p->warned, verdict);
    else out = lazy_report(p, verdict, value);
    Py_DECREF(verdict);
    Py_DECREF(value);
    return out;
}

static PyMethodDef program_methods[] = {
    {"bind", (PyCFunction)program_bind, METH_VARARGS,
     "bind(loads, decode_error, clean, exact, advise, warned, make, lazy_type, pending_slot): "
     "what lint() calls."},
    {"lint", (PyCFunction)program_lint, METH_O,
     "lint(payload) -> Report: loads, run, then the clean report, advise(value), exact(value) "
     "or a lazy_type report of make(verdict, value); raw bytes/str only, anything else goes to "
     "exact(payload)."},
    {"run", (PyCFunction)program_run, METH_O,
     "run(value) -> None | True | False | (records, advise): see the module docstring."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ProgramType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "avatar_contract.validators._native.Program",
    .tp_basicsize = sizeof(Program),
    .tp_dealloc = (destructor)program_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_traverse = (traverseproc)program_traverse,
    .tp_clear = (inquiry)program_clear,
    .tp_doc = "A compiled request program: Program(nodes, branches, unions, root_union, root).",
    .tp_methods = program_methods,
    .tp_init = (initproc)program_init,
    .tp_new = PyType_GenericNew,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_native",
    "The linter's optional native core (see validators/_native_plan.py).", -1, NULL,
};

PyMODINIT_FUNC PyInit__native(void) {
    PyObject *m;
    if (PyType_Ready(&ProgramType) < 0) return NULL;
    m = PyModule_Create(&module);
    if (!m) return NULL;
    if (PyModule_AddIntConstant(m, "MAX_DEPTH", MAX_DEPTH) < 0 ||
        PyModule_AddIntConstant(m, "MAX_ANY", MAX_ANY) < 0 ||
        PyModule_AddObjectRef(m, "Program", (PyObject *)&ProgramType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
