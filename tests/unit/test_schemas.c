/*
 * test_schemas.c - the XML Schemas in schemas/ against the documents of the
 * source tree.
 *
 *  - every .xsd file in schemas/ parses (the unqualified grammars, the shared parts
 *    and the MPF-namespace variants built on them by chameleon includes);
 *  - every document in examples/ and tests/roundtrip/ is valid against
 *    namespace.xsd or request.xsd, chosen by its root element (the
 *    *-mpf.xsd variant when the root is in the MPF namespace); a bare
 *    `data` document (input of a simple request) is skipped;
 *  - every document in tests/responses/ is valid against response.xsd or
 *    executeXml.xsd;
 *  - every document in tests/responses/invalid/ is well-formed, has a known
 *    root, and is REJECTED by its schema.
 *
 * PROVOST_SOURCE_DIR (a string) names the root of the source tree.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlschemas.h>
#include <libxml/xmlversion.h>

#ifndef PROVOST_SOURCE_DIR
#error "PROVOST_SOURCE_DIR must be defined as the path of the source tree"
#endif

/* libxml2 2.12 made the error passed to structured handlers const. */
#if LIBXML_VERSION >= 21200
#define PV_XML_ERROR const xmlError
#else
#define PV_XML_ERROR xmlError
#endif

#define PATH_SIZE 4096
#define PARSE_OPTIONS (XML_PARSE_NOBLANKS | XML_PARSE_NONET)

/* ------------------------------------------------------------------ */
/* Schema table                                                        */
/* ------------------------------------------------------------------ */

enum schema_kind { SCHEMA_NAMESPACE, SCHEMA_REQUEST, SCHEMA_RESPONSE, SCHEMA_EXECUTEXML, SCHEMA_COUNT };

enum ns_variant { NS_NONE, NS_MPF, NS_MPF_HTTPS, NS_COUNT };

static const char *const schema_base[SCHEMA_COUNT] = {
    "namespace", "request", "response", "executeXml",
};

static const char *const variant_suffix[NS_COUNT] = { "", "-mpf", "-mpf-https" };

static const char *const variant_uri[NS_COUNT] = {
    NULL, "http://maps/specs/prov.xml", "https://maps/specs/prov.xml",
};

/* Root element name -> schema. */
static const struct {
    const char *root;
    enum schema_kind kind;
} root_table[] = {
    { "namespace", SCHEMA_NAMESPACE },   { "request", SCHEMA_REQUEST },
    { "response", SCHEMA_RESPONSE },     { "responses", SCHEMA_RESPONSE },
    { "executeXml", SCHEMA_EXECUTEXML },
};

#define KIND_BIT(k) (1u << (unsigned)(k))
#define ALL_KINDS (KIND_BIT(SCHEMA_COUNT) - 1u)

struct schema_set {
    xmlSchemaPtr schema[SCHEMA_COUNT][NS_COUNT];
};

/* ------------------------------------------------------------------ */
/* libxml2 messages                                                    */
/* ------------------------------------------------------------------ */

struct messages {
    char text[8192];
    size_t len;
    int errors;
    int warnings;
};

static void messages_reset(struct messages *m)
{
    m->text[0] = '\0';
    m->len = 0;
    m->errors = 0;
    m->warnings = 0;
}

static void collect_error(void *user, PV_XML_ERROR *error)
{
    struct messages *m = user;
    const char *msg;
    size_t n, room;
    int w;

    if (m == NULL || error == NULL)
        return;
    if (error->level >= XML_ERR_ERROR)
        m->errors++;
    else
        m->warnings++;

    msg = error->message != NULL ? error->message : "(no message)";
    n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        n--;
    if (n > 1024)
        n = 1024;

    room = sizeof m->text - m->len;
    if (room <= 1)
        return;
    w = snprintf(m->text + m->len, room, "    %s:%d: %.*s\n",
                 error->file != NULL ? error->file : "(input)", error->line, (int)n, msg);
    if (w < 0)
        return;
    m->len += (size_t)w < room ? (size_t)w : room - 1;
}

/* ------------------------------------------------------------------ */
/* Files                                                               */
/* ------------------------------------------------------------------ */

static bool make_path(char *buf, size_t size, const char *dir, const char *name)
{
    int n;

    if (name != NULL)
        n = snprintf(buf, size, "%s/%s/%s", PROVOST_SOURCE_DIR, dir, name);
    else
        n = snprintf(buf, size, "%s/%s", PROVOST_SOURCE_DIR, dir);
    return n > 0 && (size_t)n < size;
}

static bool has_suffix(const char *name, const char *suffix)
{
    size_t n = strlen(name), s = strlen(suffix);

    return n > s && strcmp(name + n - s, suffix) == 0;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

struct name_list {
    char **names;
    size_t count;
};

static void name_list_free(struct name_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        free(list->names[i]);
    free(list->names);
    list->names = NULL;
    list->count = 0;
}

/* The regular files of DIR (relative to the source tree) ending in SUFFIX,
 * sorted by name. Returns false if the folder cannot be read. */
static bool list_files(const char *dir, const char *suffix, struct name_list *out)
{
    char path[PATH_SIZE];
    size_t cap = 0;
    struct dirent *ent;
    DIR *d;

    out->names = NULL;
    out->count = 0;
    if (!make_path(path, sizeof path, dir, NULL))
        return false;
    d = opendir(path);
    if (d == NULL) {
        fprintf(stderr, "cannot open folder %s\n", path);
        return false;
    }
    while ((ent = readdir(d)) != NULL) {
        if (ent->d_name[0] == '.' || !has_suffix(ent->d_name, suffix))
            continue;
        if (out->count == cap) {
            size_t ncap = cap == 0 ? 16 : cap * 2;
            char **grown = realloc(out->names, ncap * sizeof *grown);

            if (grown == NULL)
                break;
            out->names = grown;
            cap = ncap;
        }
        out->names[out->count] = strdup(ent->d_name);
        if (out->names[out->count] == NULL)
            break;
        out->count++;
    }
    closedir(d);
    if (out->count > 1)
        qsort(out->names, out->count, sizeof *out->names, compare_names);
    return true;
}

/* ------------------------------------------------------------------ */
/* Schemas                                                             */
/* ------------------------------------------------------------------ */

static xmlSchemaPtr load_schema(const char *path, struct messages *msgs)
{
    xmlSchemaParserCtxtPtr pctxt;
    xmlSchemaPtr schema;

    pctxt = xmlSchemaNewParserCtxt(path);
    if (pctxt == NULL)
        return NULL;
    xmlSchemaSetParserStructuredErrors(pctxt, collect_error, msgs);
    schema = xmlSchemaParse(pctxt);
    xmlSchemaFreeParserCtxt(pctxt);
    return schema;
}

static void schema_set_free(struct schema_set *set)
{
    for (int k = 0; k < SCHEMA_COUNT; k++)
        for (int v = 0; v < NS_COUNT; v++) {
            if (set->schema[k][v] != NULL)
                xmlSchemaFree(set->schema[k][v]);
            set->schema[k][v] = NULL;
        }
}

static int group_setup(void **state)
{
    struct schema_set *set = calloc(1, sizeof *set);
    struct messages msgs;
    char name[256], path[PATH_SIZE];
    int failures = 0;

    if (set == NULL)
        return -1;
    xmlInitParser();
    for (int k = 0; k < SCHEMA_COUNT; k++)
        for (int v = 0; v < NS_COUNT; v++) {
            snprintf(name, sizeof name, "%s%s.xsd", schema_base[k], variant_suffix[v]);
            if (!make_path(path, sizeof path, "schemas", name)) {
                failures++;
                continue;
            }
            messages_reset(&msgs);
            set->schema[k][v] = load_schema(path, &msgs);
            if (set->schema[k][v] == NULL) {
                fprintf(stderr, "schema %s does not parse:\n%s", path, msgs.text);
                failures++;
            }
        }
    if (failures > 0) {
        schema_set_free(set);
        free(set);
        *state = NULL;
        return -1;
    }
    *state = set;
    return 0;
}

static int group_teardown(void **state)
{
    struct schema_set *set = *state;

    if (set != NULL) {
        schema_set_free(set);
        free(set);
    }
    *state = NULL;
    xmlCleanupParser();
    return 0;
}

/* ------------------------------------------------------------------ */
/* Documents                                                           */
/* ------------------------------------------------------------------ */

static xmlDocPtr read_document(const char *path, struct messages *msgs)
{
    xmlDocPtr doc;

    xmlSetStructuredErrorFunc(msgs, collect_error);
    doc = xmlReadFile(path, NULL, PARSE_OPTIONS);
    xmlSetStructuredErrorFunc(NULL, NULL);
    return doc;
}

/* Which schema applies to ROOT: false if its name or namespace is unknown. */
static bool classify(xmlNodePtr root, enum schema_kind *kind, enum ns_variant *variant)
{
    const char *uri = root->ns != NULL ? (const char *)root->ns->href : NULL;
    bool found = false;

    for (size_t i = 0; i < sizeof root_table / sizeof root_table[0]; i++)
        if (strcmp((const char *)root->name, root_table[i].root) == 0) {
            *kind = root_table[i].kind;
            found = true;
            break;
        }
    if (!found)
        return false;
    if (uri == NULL || uri[0] == '\0') {
        *variant = NS_NONE;
        return true;
    }
    for (int v = NS_MPF; v < NS_COUNT; v++)
        if (strcmp(uri, variant_uri[v]) == 0) {
            *variant = (enum ns_variant)v;
            return true;
        }
    return false;
}

enum expectation { EXPECT_VALID, EXPECT_INVALID };

/* Checks one file; returns 1 on failure (after printing why), 0 otherwise.
 * *checked is incremented when the file was validated. */
static int check_file(const struct schema_set *set, const char *dir, const char *name,
                      unsigned allowed, bool skip_data, enum expectation expect,
                      int *checked)
{
    char path[PATH_SIZE];
    struct messages msgs;
    xmlSchemaValidCtxtPtr vctxt;
    enum schema_kind kind;
    enum ns_variant variant;
    xmlNodePtr root;
    xmlDocPtr doc;
    int rc, failed = 0;

    if (!make_path(path, sizeof path, dir, name)) {
        fprintf(stderr, "%s/%s: path too long\n", dir, name);
        return 1;
    }
    messages_reset(&msgs);
    doc = read_document(path, &msgs);
    if (doc == NULL) {
        fprintf(stderr, "%s: not well-formed:\n%s", path, msgs.text);
        return 1;
    }
    root = xmlDocGetRootElement(doc);
    if (root == NULL) {
        fprintf(stderr, "%s: no root element\n", path);
        xmlFreeDoc(doc);
        return 1;
    }
    if (skip_data && root->ns == NULL && strcmp((const char *)root->name, "data") == 0) {
        xmlFreeDoc(doc);
        return 0;
    }
    if (!classify(root, &kind, &variant) || (allowed & KIND_BIT(kind)) == 0) {
        fprintf(stderr, "%s: no schema here for root element '%s' (namespace '%s')\n", path,
                (const char *)root->name,
                root->ns != NULL ? (const char *)root->ns->href : "");
        xmlFreeDoc(doc);
        return 1;
    }

    vctxt = xmlSchemaNewValidCtxt(set->schema[kind][variant]);
    if (vctxt == NULL) {
        fprintf(stderr, "%s: cannot create a validation context\n", path);
        xmlFreeDoc(doc);
        return 1;
    }
    xmlSchemaSetValidStructuredErrors(vctxt, collect_error, &msgs);
    rc = xmlSchemaValidateDoc(vctxt, doc);
    xmlSchemaFreeValidCtxt(vctxt);
    xmlFreeDoc(doc);
    (*checked)++;

    if (expect == EXPECT_VALID && rc != 0) {
        fprintf(stderr, "%s: not valid against %s%s.xsd (code %d):\n%s", path,
                schema_base[kind], variant_suffix[variant], rc, msgs.text);
        failed = 1;
    } else if (expect == EXPECT_INVALID && rc == 0) {
        fprintf(stderr, "%s: accepted by %s%s.xsd but should be rejected\n", path,
                schema_base[kind], variant_suffix[variant]);
        failed = 1;
    } else if (expect == EXPECT_INVALID && rc < 0) {
        fprintf(stderr, "%s: internal error while validating (code %d):\n%s", path, rc,
                msgs.text);
        failed = 1;
    }
    return failed;
}

/* Checks every *.xml of DIR; returns the number of failures and stores in
 * *checked how many documents were validated. */
static int check_folder(const struct schema_set *set, const char *dir, unsigned allowed,
                        bool skip_data, enum expectation expect, int *checked)
{
    struct name_list files;
    int failures = 0;

    *checked = 0;
    if (!list_files(dir, ".xml", &files))
        return 1;
    for (size_t i = 0; i < files.count; i++)
        failures += check_file(set, dir, files.names[i], allowed, skip_data, expect, checked);
    name_list_free(&files);
    return failures;
}

/* ------------------------------------------------------------------ */
/* Tests                                                               */
/* ------------------------------------------------------------------ */

/* Every schema document parses on its own, including the shared parts. */
static void test_every_schema_parses(void **state)
{
    struct name_list files;
    char path[PATH_SIZE];
    struct messages msgs;
    int failures = 0;
    size_t count;

    (void)state;
    assert_true(list_files("schemas", ".xsd", &files));
    count = files.count;
    for (size_t i = 0; i < files.count; i++) {
        xmlSchemaPtr schema;

        if (!make_path(path, sizeof path, "schemas", files.names[i])) {
            failures++;
            continue;
        }
        messages_reset(&msgs);
        schema = load_schema(path, &msgs);
        if (schema == NULL) {
            fprintf(stderr, "%s: does not parse:\n%s", path, msgs.text);
            failures++;
            continue;
        }
        if (msgs.warnings > 0)
            fprintf(stderr, "%s: parsed with warnings:\n%s", path, msgs.text);
        xmlSchemaFree(schema);
    }
    name_list_free(&files);
    assert_int_equal(failures, 0);
    /* 4 documents x 3 namespace variants, plus common.xsd and procedure.xsd */
    assert_true(count >= (size_t)(SCHEMA_COUNT * NS_COUNT + 2));
}

/* The variants really differ by namespace: an unqualified namespace file is
 * valid only against namespace.xsd, a qualified one only against the MPF
 * variant of its namespace URI. */
static void test_variants_select_namespace(void **state)
{
    static const char *const docs[NS_COUNT] = {
        "<namespace name='N'><procedure name='P' type='read'/></namespace>",
        "<namespace xmlns='http://maps/specs/prov.xml' name='N'>"
        "<procedure name='P' type='read'/></namespace>",
        "<namespace xmlns='https://maps/specs/prov.xml' name='N'>"
        "<procedure name='P' type='read'/></namespace>",
    };
    const struct schema_set *set = *state;

    for (int d = 0; d < NS_COUNT; d++) {
        for (int v = 0; v < NS_COUNT; v++) {
            xmlDocPtr doc = xmlReadMemory(docs[d], (int)strlen(docs[d]), "variant.xml", NULL,
                                          PARSE_OPTIONS);
            struct messages msgs;
            xmlSchemaValidCtxtPtr vctxt;
            int rc;

            assert_non_null(doc);
            messages_reset(&msgs);
            vctxt = xmlSchemaNewValidCtxt(set->schema[SCHEMA_NAMESPACE][v]);
            assert_non_null(vctxt);
            xmlSchemaSetValidStructuredErrors(vctxt, collect_error, &msgs);
            rc = xmlSchemaValidateDoc(vctxt, doc);
            xmlSchemaFreeValidCtxt(vctxt);
            xmlFreeDoc(doc);
            if ((rc == 0) != (d == v))
                fprintf(stderr, "document %d against variant %d: code %d\n%s", d, v, rc,
                        msgs.text);
            assert_true((rc == 0) == (d == v));
        }
    }
}

static void test_examples_are_valid(void **state)
{
    int checked = 0;
    int failures = check_folder(*state, "examples",
                                KIND_BIT(SCHEMA_NAMESPACE) | KIND_BIT(SCHEMA_REQUEST), true,
                                EXPECT_VALID, &checked);

    assert_int_equal(failures, 0);
    assert_true(checked >= 2);
}

static void test_roundtrip_inputs_are_valid(void **state)
{
    int checked = 0;
    int failures = check_folder(*state, "tests/roundtrip",
                                KIND_BIT(SCHEMA_NAMESPACE) | KIND_BIT(SCHEMA_REQUEST), false,
                                EXPECT_VALID, &checked);

    assert_int_equal(failures, 0);
    assert_true(checked >= 21); /* W01 ... W21 */
}

static void test_sample_responses_are_valid(void **state)
{
    int checked = 0;
    int failures = check_folder(*state, "tests/responses",
                                KIND_BIT(SCHEMA_RESPONSE) | KIND_BIT(SCHEMA_EXECUTEXML), false,
                                EXPECT_VALID, &checked);

    assert_int_equal(failures, 0);
    assert_true(checked >= 4);
}

static void test_invalid_documents_are_rejected(void **state)
{
    int checked = 0;
    int failures = check_folder(*state, "tests/responses/invalid", ALL_KINDS, false,
                                EXPECT_INVALID, &checked);

    assert_int_equal(failures, 0);
    assert_true(checked >= 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_schema_parses),
        cmocka_unit_test(test_variants_select_namespace),
        cmocka_unit_test(test_examples_are_valid),
        cmocka_unit_test(test_roundtrip_inputs_are_valid),
        cmocka_unit_test(test_sample_responses_are_valid),
        cmocka_unit_test(test_invalid_documents_are_rejected),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
