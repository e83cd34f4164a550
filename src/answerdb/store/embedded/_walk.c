/* The HNSW graph walk over 8-bit codes: faiss builds and saves the graph, this searches it.
 *
 * faiss's own search over 8-bit codes costs ~1.4x this one per query: it does not prefetch
 * the codes of a node's neighbours, and its generic candidate queues add work per step. The
 * walk reads faiss's arrays in place (level-0 links of node i start at offsets[i]; level l's
 * at offsets[i] + cum_nb[l]) and the vector file's codes (uint8, the value + 128), so nothing
 * is copied. Distances are squared L2 between codes in 32-bit integers; ``answerdb_nearest``
 * then re-scores the candidates by exact inner product with the float query, so that a search
 * costs one call. Loaded with ctypes: the module below exists only to be found.
 *
 * The graph's links are pages of a file, so they are not trusted: every neighbour id and every
 * node's link range is compared with the graph's size before it is read (WALK_DAMAGED).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define WALK_X86 1
#endif

typedef struct {
    const uint8_t *codes;
    const int32_t *neighbors;
    const uint64_t *offsets;
    const int32_t *cum_nb;
    int64_t dim;
    int64_t entry;
    int64_t max_level;
    int64_t rows;    /* rows of codes (and entries of offsets, less one) */
    int64_t n_links; /* entries of neighbors */
} walk_graph;

/* What the walk returns instead of a count. */
#define WALK_DAMAGED (-1)  /* a link or the entry point lies outside the graph */
#define WALK_TOO_WIDE (-2) /* distances of this many dimensions overflow 32 bits */
/* 254^2 per dimension: wider rows could overflow an int32 distance. */
#define WALK_MAX_DIM 32768
/* Unseen neighbours gathered (and prefetched) at a time: any degree is walked in chunks. */
#define WALK_CHUNK 512

typedef struct {
    int32_t key;
    int32_t row;
} walk_item;

typedef int32_t (*distance_fn)(const uint8_t *, const uint8_t *, int64_t);

static int32_t l2_plain(const uint8_t *a, const uint8_t *b, int64_t dim) {
    int32_t sum = 0;
    for (int64_t i = 0; i < dim; i++) {
        int32_t diff = (int32_t)a[i] - (int32_t)b[i];
        sum += diff * diff;
    }
    return sum;
}

#ifdef WALK_X86
__attribute__((target("avx2"))) static int32_t l2_avx2(const uint8_t *a, const uint8_t *b,
                                                        int64_t dim) {
    __m256i acc = _mm256_setzero_si256();
    int64_t i = 0;
    for (; i + 16 <= dim; i += 16) {
        __m256i wa = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(a + i)));
        __m256i wb = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(b + i)));
        __m256i diff = _mm256_sub_epi16(wa, wb);
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(diff, diff));
    }
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s) + l2_plain(a + i, b + i, dim - i);
}

__attribute__((target("avx512bw"))) static int32_t l2_avx512(const uint8_t *a, const uint8_t *b,
                                                            int64_t dim) {
    __m512i acc = _mm512_setzero_si512();
    int64_t i = 0;
    for (; i + 32 <= dim; i += 32) {
        __m512i wa = _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)(a + i)));
        __m512i wb = _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)(b + i)));
        __m512i diff = _mm512_sub_epi16(wa, wb);
        acc = _mm512_add_epi32(acc, _mm512_madd_epi16(diff, diff));
    }
    return _mm512_reduce_add_epi32(acc) + l2_plain(a + i, b + i, dim - i);
}
#endif

static distance_fn pick_distance(void) {
#ifdef WALK_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512bw")) return l2_avx512;
    if (__builtin_cpu_supports("avx2")) return l2_avx2;
#endif
    return l2_plain;
}

static inline void prefetch(const uint8_t *p, int64_t bytes) {
#if defined(__GNUC__)
    for (int64_t o = 0; o < bytes; o += 64) __builtin_prefetch(p + o, 0, 3);
#endif
}

/* A binary min-heap on key. Candidates are keyed by distance (nearest on top), results by
 * distance negated (farthest on top, the one a nearer row replaces). */
static void heap_up(walk_item *h, int64_t i) {
    walk_item x = h[i];
    while (i > 0) {
        int64_t p = (i - 1) / 2;
        if (h[p].key <= x.key) break;
        h[i] = h[p];
        i = p;
    }
    h[i] = x;
}

static void heap_down(walk_item *h, int64_t n, int64_t i) {
    walk_item x = h[i];
    for (;;) {
        int64_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && h[c + 1].key < h[c].key) c++;
        if (h[c].key >= x.key) break;
        h[i] = h[c];
        i = c;
    }
    h[i] = x;
}

static inline int is_allowed(const uint8_t *allowed, int32_t row) {
    return allowed == NULL || (allowed[row >> 3] >> (row & 7)) & 1;
}

/* The links of ``row`` at ``level``, or NULL when they lie outside the graph. */
static const int32_t *links_of(const walk_graph *g, int32_t row, int64_t level, int64_t *count) {
    uint64_t start = g->offsets[row] + (uint64_t)g->cum_nb[level];
    *count = g->cum_nb[level + 1] - g->cum_nb[level];
    if (start + (uint64_t)*count > (uint64_t)g->n_links) return NULL;
    return g->neighbors + start;
}

/* Start loading the links of ``row`` at ``level`` (its offset is read: usually cached). */
static inline void prefetch_links(const walk_graph *g, int32_t row, int64_t level) {
    uint64_t start = g->offsets[row] + (uint64_t)g->cum_nb[level];
    if (start < (uint64_t)g->n_links) {
        prefetch((const uint8_t *)(g->neighbors + start),
                 (g->cum_nb[level + 1] - g->cum_nb[level]) * (int64_t)sizeof(int32_t));
    }
}

/* Greedy steps at one level: from ``*row`` to whichever neighbour is nearer ``query``, until
 * none is. Returns 0, or WALK_DAMAGED. */
static int greedy(const walk_graph *g, const uint8_t *query, distance_fn distance, int64_t level,
                  int32_t *row, int32_t *best) {
    int moved = 1;
    while (moved) {
        moved = 0;
        int64_t count;
        const int32_t *links = links_of(g, *row, level, &count);
        if (links == NULL) return WALK_DAMAGED;
        for (int64_t j = 0; j < count && links[j] >= 0; j++) {
            if (links[j] >= g->rows) return WALK_DAMAGED;
            prefetch(g->codes + (int64_t)links[j] * g->dim, g->dim);
        }
        for (int64_t j = 0; j < count && links[j] >= 0; j++) {
            int32_t d = distance(g->codes + (int64_t)links[j] * g->dim, query, g->dim);
            if (d < *best) {
                *best = d;
                *row = links[j];
                moved = 1;
            }
        }
    }
    return 0;
}

/* Greedy descent through the upper levels: the level-0 walk starts from the nearest found.
 * Returns 0, or WALK_DAMAGED. */
static int descend(const walk_graph *g, const uint8_t *query, distance_fn distance,
                   int32_t *nearest, int32_t *nearest_distance) {
    int32_t row = (int32_t)g->entry;
    int32_t best = distance(g->codes + (int64_t)row * g->dim, query, g->dim);
    for (int64_t level = g->max_level; level >= 1; level--) {
        if (greedy(g, query, distance, level, &row, &best) != 0) return WALK_DAMAGED;
    }
    *nearest = row;
    *nearest_distance = best;
    return 0;
}

/* A walk's two heaps in its scratch: candidates to expand and the ef best results. */
typedef struct {
    walk_item *results, *candidates;
    int64_t ef, room, n_results, n_candidates;
    const uint8_t *allowed;
    uint32_t *visited;
    uint32_t tag;
} walk_state;

/* Score rows not seen before and keep them as candidates and (when allowed) results. */
static void take(walk_state *w, const walk_graph *g, const uint8_t *query, distance_fn distance,
                 const int32_t *fresh, int64_t n_fresh) {
    for (int64_t j = 0; j < n_fresh; j++) {
        int32_t row = fresh[j];
        int32_t d = distance(g->codes + (int64_t)row * g->dim, query, g->dim);
        if (w->n_results >= w->ef && d >= -w->results[0].key) continue;
        if (w->n_candidates < w->room) {
            __builtin_prefetch(g->offsets + row, 0, 3);  /* its links' place, if it is expanded */
            w->candidates[w->n_candidates] = (walk_item){d, row};
            heap_up(w->candidates, w->n_candidates++);
        }
        if (!is_allowed(w->allowed, row)) continue;
        if (w->n_results < w->ef) {
            w->results[w->n_results] = (walk_item){-d, row};
            heap_up(w->results, w->n_results++);
        } else {
            w->results[0] = (walk_item){-d, row};
            heap_down(w->results, w->n_results, 0);
        }
    }
}

/* Visit the links of ``row`` at ``level``: unseen neighbours are gathered a chunk at a time,
 * their codes fetched while the ones before are scored. Returns 0, or WALK_DAMAGED. */
static int expand(walk_state *w, const walk_graph *g, const uint8_t *query, distance_fn distance,
                  int32_t row, int64_t level) {
    int64_t degree;
    const int32_t *links = links_of(g, row, level, &degree);
    if (links == NULL) return WALK_DAMAGED;
    int32_t fresh[WALK_CHUNK];
    int64_t j = 0;
    while (j < degree && links[j] >= 0) {
        int64_t n_fresh = 0;
        for (; j < degree && links[j] >= 0 && n_fresh < WALK_CHUNK; j++) {
            int32_t next = links[j];
            if (next >= g->rows) return WALK_DAMAGED;
            if (w->visited[next] == w->tag) continue;
            w->visited[next] = w->tag;
            fresh[n_fresh++] = next;
            prefetch(g->codes + (int64_t)next * g->dim, g->dim);
        }
        take(w, g, query, distance, fresh, n_fresh);
    }
    return 0;
}

/* Heap sort in place: the farthest goes last, until the results are nearest first. */
static void sort_results(walk_item *results, int64_t n_results) {
    for (int64_t n = n_results; n > 1; n--) {
        walk_item top = results[0];
        results[0] = results[n - 1];
        results[n - 1] = top;
        heap_down(results, n - 1, 0);
    }
}

/* The ef nearest rows to ``query`` among those reached at ``level`` from ``start``: in
 * ``w->results``, nearest first (keys are distances negated). Returns 0, or WALK_DAMAGED. */
static int search_level(walk_state *w, const walk_graph *g, const uint8_t *query,
                        distance_fn distance, int32_t start, int32_t start_distance,
                        int64_t level) {
    w->n_results = w->n_candidates = 0;
    w->visited[start] = w->tag;
    w->candidates[w->n_candidates++] = (walk_item){start_distance, start};
    if (is_allowed(w->allowed, start)) {
        w->results[w->n_results++] = (walk_item){-start_distance, start};
    }
    while (w->n_candidates > 0) {
        walk_item next = w->candidates[0];
        w->candidates[0] = w->candidates[--w->n_candidates];
        if (w->n_candidates > 0) {
            heap_down(w->candidates, w->n_candidates, 0);
            prefetch_links(g, w->candidates[0].row, level);  /* likely next: load it meanwhile */
        }
        if (w->n_results >= w->ef && next.key > -w->results[0].key) break;
        if (expand(w, g, query, distance, next.row, level) != 0) return WALK_DAMAGED;
    }
    sort_results(w->results, w->n_results);
    return 0;
}

/* The k nearest rows to ``query`` (codes of the graph's kind), nearest first; returns how many,
 * or WALK_DAMAGED, or WALK_TOO_WIDE. ``allowed``: a little-endian bitmap of rows that may be
 * returned, or NULL for all. ``visited`` holds one tag per row; rows marked ``tag`` count as
 * seen (the caller gives each walk a new tag). ``scratch`` holds ``capacity`` items (at least
 * ef + 2). */
int64_t answerdb_walk(const walk_graph *g, const uint8_t *query, int64_t ef, int64_t k,
                      const uint8_t *allowed, uint32_t *visited, uint32_t tag, int64_t *found,
                      walk_item *scratch, int64_t capacity) {
    static distance_fn distance = NULL;
    if (distance == NULL) distance = pick_distance();
    if (g->dim > WALK_MAX_DIM) return WALK_TOO_WIDE;
    if (g->rows == 0 || g->entry < 0 || ef < 1 || capacity < ef + 2) return 0;
    if (g->entry >= g->rows) return WALK_DAMAGED;
    walk_state w = {scratch, scratch + ef + 1, ef, capacity - ef - 1, 0, 0, allowed, visited, tag};
    int32_t start, start_distance;
    if (descend(g, query, distance, &start, &start_distance) != 0) return WALK_DAMAGED;
    if (search_level(&w, g, query, distance, start, start_distance, 0) != 0) return WALK_DAMAGED;
    int64_t out = w.n_results < k ? w.n_results : k;
    for (int64_t i = 0; i < out; i++) found[i] = w.results[i].row;
    return out;
}

/* -- growing the graph ------------------------------------------------------------------- */

/* Keep those of ``items`` (nearest first, keyed by distance to the row they are links of) that
 * no kept item is nearer to than that row is: HNSW's neighbour heuristic, as faiss and hnswlib
 * prune, at most ``room`` of them; fewer items than ``room`` are all kept. Returns how many,
 * moved to the front. */
static int64_t prune(const walk_graph *g, distance_fn distance, walk_item *items, int64_t n,
                     int64_t room) {
    if (n < room) return n;
    int64_t kept = 0;
    for (int64_t i = 0; i < n && kept < room; i++) {
        const uint8_t *code = g->codes + (int64_t)items[i].row * g->dim;
        int good = 1;
        for (int64_t j = 0; j < kept && good; j++) {
            good = distance(g->codes + (int64_t)items[j].row * g->dim, code, g->dim) >= items[i].key;
        }
        if (good) items[kept++] = items[i];
    }
    return kept;
}

/* Insertion sort by key: a node's few dozen links. */
static void sort_items(walk_item *items, int64_t n) {
    for (int64_t i = 1; i < n; i++) {
        walk_item x = items[i];
        int64_t j = i;
        for (; j > 0 && items[j - 1].key > x.key; j--) items[j] = items[j - 1];
        items[j] = x;
    }
}

/* Link ``from`` to ``to`` at ``level``: into a free slot, else the heuristic chooses among its
 * links and ``to`` (``spare`` holds a node's links and one more). Returns 0, or WALK_DAMAGED. */
static int link_back(const walk_graph *g, distance_fn distance, int32_t from, int32_t to,
                int64_t level, walk_item *spare) {
    int64_t count;
    int32_t *links = (int32_t *)links_of(g, from, level, &count);
    if (links == NULL) return WALK_DAMAGED;
    if (links[count - 1] < 0) {
        int64_t slot = count;
        while (slot > 0 && links[slot - 1] < 0) slot--;
        links[slot] = to;
        return 0;
    }
    const uint8_t *code = g->codes + (int64_t)from * g->dim;
    for (int64_t j = 0; j < count; j++) {
        if (links[j] >= g->rows) return WALK_DAMAGED;
        prefetch(g->codes + (int64_t)links[j] * g->dim, g->dim);
    }
    spare[0] = (walk_item){distance(g->codes + (int64_t)to * g->dim, code, g->dim), to};
    for (int64_t j = 0; j < count; j++) {
        spare[j + 1] = (walk_item){distance(g->codes + (int64_t)links[j] * g->dim, code, g->dim),
                                   links[j]};
    }
    sort_items(spare, count + 1);
    int64_t kept = prune(g, distance, spare, count + 1, count);
    for (int64_t j = 0; j < count; j++) links[j] = j < kept ? spare[j].row : -1;
    return 0;
}

/* Add ``row`` (its level's link slots empty) to the graph: greedy descent to its top level, then
 * at each level down to 0 a walk of ``w->ef`` for its links, each linked back. The walk at a level
 * starts from the nearest row found at the one above. Returns 0, or WALK_DAMAGED. */
static int insert_row(walk_graph *g, distance_fn distance, walk_state *w, int32_t row,
                      int64_t top, walk_item *chosen, walk_item *spare) {
    if (g->entry < 0) {
        g->entry = row;
        g->max_level = top;
        return 0;
    }
    const uint8_t *query = g->codes + (int64_t)row * g->dim;
    int32_t near = (int32_t)g->entry;
    int32_t near_distance = distance(g->codes + (int64_t)near * g->dim, query, g->dim);
    int64_t level = g->max_level;
    for (; level > top; level--) {
        if (greedy(g, query, distance, level, &near, &near_distance) != 0) return WALK_DAMAGED;
    }
    for (; level >= 0; level--) {
        if (++w->tag == 0) { /* tags wrapped: every row unseen again */
            memset(w->visited, 0, (size_t)g->rows * sizeof(uint32_t));
            w->tag = 1;
        }
        if (search_level(w, g, query, distance, near, near_distance, level) != 0) {
            return WALK_DAMAGED;
        }
        int64_t n = w->n_results;
        for (int64_t j = 0; j < n; j++) chosen[j] = (walk_item){-w->results[j].key, w->results[j].row};
        near = chosen[0].row;
        near_distance = chosen[0].key;
        int64_t count;
        int32_t *links = (int32_t *)links_of(g, row, level, &count);
        if (links == NULL) return WALK_DAMAGED;
        n = prune(g, distance, chosen, n, count);
        for (int64_t j = 0; j < n; j++) {
            links[j] = chosen[j].row;
            if (link_back(g, distance, chosen[j].row, row, level, spare) != 0) return WALK_DAMAGED;
        }
    }
    if (top > g->max_level) {
        g->entry = row;
        g->max_level = top;
    }
    return 0;
}

/* Add rows ``first`` .. ``g->rows - 1`` to the graph in order, each at the level faiss drew
 * for it (``levels[row]`` is its top level + 1; its link slots are sized and empty). ``g->entry``
 * and ``g->max_level`` come back updated. ``visited`` holds a tag per row, ``*tag`` the last one
 * used; ``scratch`` holds ``capacity`` items, at least 2 * ef + 2 + the widest node's links.
 * Returns 0, or WALK_DAMAGED, or WALK_TOO_WIDE. */
int64_t answerdb_insert(walk_graph *g, const int32_t *levels, int64_t first, int64_t ef,
                        uint32_t *visited, uint32_t *tag, walk_item *scratch, int64_t capacity) {
    static distance_fn distance = NULL;
    if (distance == NULL) distance = pick_distance();
    if (g->dim > WALK_MAX_DIM) return WALK_TOO_WIDE;
    int64_t widest = g->cum_nb[1] - g->cum_nb[0];
    if (ef < 1 || capacity < 3 * ef + 4 + widest) return WALK_DAMAGED;
    walk_item *chosen = scratch + capacity - ef - widest - 2, *spare = chosen + ef + 1;
    walk_state w = {scratch, scratch + ef + 1, ef, capacity - 3 * ef - 4 - widest, 0, 0, NULL,
                    visited, *tag};
    int rc = 0;
    for (int64_t row = first; row < g->rows && rc == 0; row++) {
        rc = insert_row(g, distance, &w, (int32_t)row, levels[row] - 1, chosen, spare);
    }
    *tag = w.tag;
    return rc;
}

/* A float query as the vector file's codes (VectorFile.encode): x * scale rounded half to
 * even, clipped to +-127, plus 128. */
static void encode_query(const float *query, int64_t dim, float scale, uint8_t *out) {
    for (int64_t i = 0; i < dim; i++) {
        float v = nearbyintf(query[i] * scale);
        v = v > 127.0f ? 127.0f : (v < -127.0f ? -127.0f : v);
        out[i] = (uint8_t)(int32_t)(v + 128.0f);
    }
}

/* The inner product of the float query with a row as stored: (code - 128) . q / scale. */
static float exact_score(const uint8_t *codes, const float *query, int64_t dim, float query_sum,
                         float scale) {
    float dot = 0.0f;
    for (int64_t i = 0; i < dim; i++) dot += (float)codes[i] * query[i];
    return (dot - 128.0f * query_sum) / scale;
}

/* The k best of ``candidates`` walked rows by exact inner product with the float ``query``,
 * best first, in ``rows`` and ``scores`` (each room for ``candidates``); ``codes`` is room for
 * the query's own codes. The other arguments are answerdb_walk's. Returns how many, or
 * answerdb_walk's error. */
int64_t answerdb_nearest(const walk_graph *g, const float *query, float scale, int64_t ef,
                         int64_t k, int64_t candidates, const uint8_t *allowed, uint32_t *visited,
                         uint32_t tag, int64_t *rows, float *scores, walk_item *scratch,
                         int64_t capacity, uint8_t *codes) {
    encode_query(query, g->dim, scale, codes);
    int64_t n = answerdb_walk(g, codes, ef, candidates, allowed, visited, tag, rows, scratch,
                              capacity);
    if (n < 0) return n;
    float query_sum = 0.0f;
    for (int64_t i = 0; i < g->dim; i++) query_sum += query[i];
    // Insertion sort as scored: a few dozen candidates, ties kept in the walk's order.
    for (int64_t i = 0; i < n; i++) {
        int64_t row = rows[i];
        float score = exact_score(g->codes + row * g->dim, query, g->dim, query_sum, scale);
        int64_t j = i;
        for (; j > 0 && scores[j - 1] < score; j--) {
            scores[j] = scores[j - 1];
            rows[j] = rows[j - 1];
        }
        scores[j] = score;
        rows[j] = row;
    }
    return n < k ? n : k;
}

static struct PyModuleDef walk_module = {PyModuleDef_HEAD_INIT, "_walk",
                                         "The HNSW walk over 8-bit codes (loaded with ctypes).",
                                         -1, NULL, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__walk(void) { return PyModule_Create(&walk_module); }
