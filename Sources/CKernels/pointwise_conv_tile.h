// Body of the pointwise-convolution micro-kernels, included once per instruction set by
// pointwise_conv.c with these defined: PWC(name) (suffixes a name with the ISA), PWC_ATTR
// (target attribute), PWC_VEC (a GCC vector of PWC_VL floats), PWC_VL, PWC_MR (rows of a
// two-vector tile) and PWC_MR3 (rows of a three-vector tile).
// A tile is mr rows × nv·VL columns of the output (nv = 2, or 3 for channel counts that are
// a multiple of 3·VL but not of 2·VL, such as 24 on AVX2), all in registers:
//   rows-are-pixels (channels-last): A = the activations, row i at a + i·lda, k contiguous;
//                    B = weights packed (K, NR) per panel; bias per column.
//   rows-are-channels (channels-first): A = weights packed (K, MR) per panel; B = the
//                    activations copied as (K, NR) blocks, rows `lda` floats apart (A's
//                    stride is the constant MR, so the parameter carries B's); bias per row.
// The accumulators start from the bias; the epilogue, while the tile is in registers, is the
// activation, then + residual (same layout as the output), one store.

#define PWC_NR (2 * PWC_VL)
#define PWC_MAXW (3 * PWC_VL)
#define PWC_UNROLL _Pragma("clang loop unroll(full)")

INLINE PWC_ATTR PWC_VEC PWC(splat)(float s) {
    PWC_VEC v;
    for (int l = 0; l < PWC_VL; l++) v[l] = s;
    return v;
}

INLINE PWC_ATTR PWC_VEC PWC(act)(const int act, PWC_VEC y) {
    const PWC_VEC zero = PWC(splat)(0.0f), six = PWC(splat)(6.0f);
    switch (act) {
    case SL_PWC_RELU: return __builtin_elementwise_max(y, zero);
    case SL_PWC_RELU6: return __builtin_elementwise_min(__builtin_elementwise_max(y, zero), six);
    case SL_PWC_HARDSWISH: {
        PWC_VEC g = __builtin_elementwise_min(__builtin_elementwise_max(y + PWC(splat)(3.0f), zero), six);
        return y * g * PWC(splat)(1.0f / 6.0f);
    }
    }
    return y;
}

// One full-width tile. `channelsFirst` selects how A is addressed (see above); every
// other difference is in the pointers the driver passes. Channels-last, B's rows (a packed
// weight panel) are nv·VL floats apart; channels-first, A's panel rows are MR floats apart
// and B's rows (a block of the copied activations) `lda` apart, so that a one-vector tile
// can read the first half of a two-vector block.
// The accumulators start from the bias, so the epilogue is activation, residual, store.
// Channels-last, the k loop runs four steps per iteration off fixed row pointers: the row
// addresses become constant displacements, which keeps the loop's bookkeeping below what
// the front end can issue alongside the multiply-adds.
// `cf` 2 is channels-first with B's rows read in place through a row table: `b` is then the
// table (const float *const *) and `lda` the column where the tile starts in every row.
INLINE PWC_ATTR void PWC(tile_body)(const int mr, const int nv, const int cf, const int act, int k,
                                    const float *a, long lda, const float *b, const float *bias, float *c, long ldc,
                                    const float *res, long ldr) {
    const int channelsFirst = cf != 0;
    const float *const *table = cf == 2 ? (const float *const *)(const void *)b : NULL;
    // The tables below instantiate 8 row counts for every ISA; those above MR are never called.
    const int rows = nv == 3 ? PWC_MR3 : PWC_MR;
    const int m = mr < rows ? mr : rows;
    const long ldb = channelsFirst ? lda : (long)nv * PWC_VL;
    PWC_VEC acc[PWC_MR][3];
    PWC_UNROLL for (int i = 0; i < m; i++)
        PWC_UNROLL for (int v = 0; v < nv; v++)
            acc[i][v] = !bias ? PWC(splat)(0.0f) : channelsFirst ? PWC(splat)(bias[i]) : *(const PWC_VEC *)(bias + v * PWC_VL);
    if (channelsFirst) {
        for (int p = 0; p < k; p++) {
            PWC_VEC bv[3];
            const float *bp = table ? table[p] + lda : b + p * ldb;
            PWC_UNROLL for (int v = 0; v < nv; v++) bv[v] = *(const PWC_VEC *)(bp + v * PWC_VL);
            PWC_UNROLL for (int i = 0; i < m; i++) {
                const PWC_VEC av = PWC(splat)(a[(long)p * PWC_MR + i]);
                PWC_UNROLL for (int v = 0; v < nv; v++) acc[i][v] += av * bv[v];
            }
        }
    } else {
        const float *row[PWC_MR];
        PWC_UNROLL for (int i = 0; i < m; i++) row[i] = a + (long)i * lda;
        int p = 0;
        for (; p + 4 <= k; p += 4, b += 4 * ldb) {
            PWC_UNROLL for (int u = 0; u < 4; u++) {
                PWC_VEC bv[3];
                PWC_UNROLL for (int v = 0; v < nv; v++) bv[v] = *(const PWC_VEC *)(b + u * ldb + v * PWC_VL);
                PWC_UNROLL for (int i = 0; i < m; i++) {
                    const PWC_VEC av = PWC(splat)(row[i][p + u]);
                    PWC_UNROLL for (int v = 0; v < nv; v++) acc[i][v] += av * bv[v];
                }
            }
        }
        for (; p < k; p++, b += ldb) {
            PWC_VEC bv[3];
            PWC_UNROLL for (int v = 0; v < nv; v++) bv[v] = *(const PWC_VEC *)(b + v * PWC_VL);
            PWC_UNROLL for (int i = 0; i < m; i++) {
                const PWC_VEC av = PWC(splat)(row[i][p]);
                PWC_UNROLL for (int v = 0; v < nv; v++) acc[i][v] += av * bv[v];
            }
        }
    }
    PWC_UNROLL for (int i = 0; i < m; i++) {
        PWC_UNROLL for (int v = 0; v < nv; v++) {
            PWC_VEC y = PWC(act)(act, acc[i][v]);
            if (res) y += *(const PWC_VEC *)(res + i * ldr + v * PWC_VL);
            *(PWC_VEC *)(c + i * ldc + v * PWC_VL) = y;
        }
    }
}

// Specialised per (layout, activation, vectors, row count): the loops and the epilogue's
// branches fold away. Two-vector tiles for both layouts, three-vector tiles channels-last,
// one-vector tiles channels-first (a ragged last block of at most one vector: the two-vector
// tile would multiply as many zero columns as real ones).
// One call computes `panels` tiles side by side: the same rows of A against consecutive
// packed panels of B (k·w floats apart), each w columns further along the output, bias and
// residual. Channels-last sweeps a whole row of panels per call, so the dispatch and the
// register saves are paid once per pixel tile rather than per panel (a tenth of the time
// of a K = 16 tile); channels-first passes one panel (its bias runs along the rows).
#define PWC_TILE(CF, ACT, NV, MR) \
    PWC_ATTR static void PWC(tile_##CF##_##ACT##_##NV##_##MR)(int k, const float *a, long lda, const float *b, int panels, \
        const float *bias, float *c, long ldc, const float *res, long ldr) { \
        const long w = (long)NV * PWC_VL; \
        for (int q = 0; q < panels; q++) \
            PWC(tile_body)(MR, NV, CF, ACT, k, a, lda, b + q * k * w, bias ? bias + q * w : NULL, c + q * w, ldc, \
                           res ? res + q * w : NULL, ldr); }
#define PWC_TILES_MR(CF, ACT, NV) \
    PWC_TILE(CF, ACT, NV, 1) PWC_TILE(CF, ACT, NV, 2) PWC_TILE(CF, ACT, NV, 3) PWC_TILE(CF, ACT, NV, 4) \
    PWC_TILE(CF, ACT, NV, 5) PWC_TILE(CF, ACT, NV, 6) PWC_TILE(CF, ACT, NV, 7) PWC_TILE(CF, ACT, NV, 8)
#define PWC_TILES_ACT(CF, NV) PWC_TILES_MR(CF, 0, NV) PWC_TILES_MR(CF, 1, NV) PWC_TILES_MR(CF, 2, NV) PWC_TILES_MR(CF, 3, NV)
PWC_TILES_ACT(0, 2)
PWC_TILES_ACT(1, 2)
PWC_TILES_ACT(0, 3)
PWC_TILES_ACT(1, 1)
PWC_TILES_ACT(2, 2)
#define PWC_ROW(CF, ACT, NV) {NULL, PWC(tile_##CF##_##ACT##_##NV##_1), PWC(tile_##CF##_##ACT##_##NV##_2), \
    PWC(tile_##CF##_##ACT##_##NV##_3), PWC(tile_##CF##_##ACT##_##NV##_4), PWC(tile_##CF##_##ACT##_##NV##_5), \
    PWC(tile_##CF##_##ACT##_##NV##_6), PWC(tile_##CF##_##ACT##_##NV##_7), PWC(tile_##CF##_##ACT##_##NV##_8)}
// [kind][act][mr], kind 0: channels-last two vectors, 1: channels-first two vectors,
// 2: channels-last three vectors, 3: channels-first one vector, 4: channels-first two vectors
// read in place through a row table.
static const pwc_tile_fn PWC(tiles)[5][4][9] = {
    {PWC_ROW(0, 0, 2), PWC_ROW(0, 1, 2), PWC_ROW(0, 2, 2), PWC_ROW(0, 3, 2)},
    {PWC_ROW(1, 0, 2), PWC_ROW(1, 1, 2), PWC_ROW(1, 2, 2), PWC_ROW(1, 3, 2)},
    {PWC_ROW(0, 0, 3), PWC_ROW(0, 1, 3), PWC_ROW(0, 2, 3), PWC_ROW(0, 3, 3)},
    {PWC_ROW(1, 0, 1), PWC_ROW(1, 1, 1), PWC_ROW(1, 2, 1), PWC_ROW(1, 3, 1)},
    {PWC_ROW(2, 0, 2), PWC_ROW(2, 1, 2), PWC_ROW(2, 2, 2), PWC_ROW(2, 3, 2)},
};
#undef PWC_TILE
#undef PWC_TILES_MR
#undef PWC_TILES_ACT
#undef PWC_ROW

// A tile narrower than its width w (= nv·VL): computed full width into a stack tile (B's
// missing columns are zero or copied into a zero-padded block by the caller), the valid
// columns copied out with the residual added.
PWC_ATTR static void PWC(tile_partial)(int kind, int act, int mr, int w, int nr, int k, const float *a, long lda,
                                       const float *b, const float *bias, float *c, long ldc,
                                       const float *res, long ldr) {
    float t[PWC_MR * PWC_MAXW] __attribute__((aligned(64)));
    float bpad[PWC_MAXW] __attribute__((aligned(64)));
    const float *bb = bias;
    if (bias && kind != 1 && kind != 3) { // per-column bias: only nr of them exist
        for (int j = 0; j < w; j++) bpad[j] = j < nr ? bias[j] : 0.0f;
        bb = bpad;
    }
    PWC(tiles)[kind][act][mr](k, a, lda, b, 1, bb, t, w, NULL, 0);
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nr; j++) c[i * ldc + j] = t[i * w + j] + (res ? res[i * ldr + j] : 0.0f);
}

// Channels-last: pixels [p0, p1) × every output channel. The weights are split into column
// chunks small enough to stay in L2 while the pixel tiles sweep them; each tile's activation
// rows (mr × K) stay in L1 across the chunk's panels.
PWC_ATTR static void PWC(drive_last)(const sl_pointwise_args *g, int p0, int p1) {
    const int k = g->k, n = g->n;
    const int three = n % (3 * PWC_VL) == 0 && n % (2 * PWC_VL) != 0;
    const int kind = three ? 2 : 0, w = three ? 3 * PWC_VL : PWC_NR, rows = three ? PWC_MR3 : PWC_MR;
    const int panels = (n + w - 1) / w;
    int chunk = (int)(PWC_L2_FLOATS / ((long)k * w));
    chunk = chunk < 1 ? 1 : chunk;
    for (int q0 = 0; q0 < panels; q0 += chunk) {
        const int q1 = q0 + chunk < panels ? q0 + chunk : panels;
        // The chunk's full-width panels in one call per pixel tile; a ragged last panel apart.
        const int ragged = q1 == panels && n % w != 0, full = q1 - q0 - ragged;
        const long j0 = (long)q0 * w, jr = (long)(q1 - 1) * w;
        for (int p = p0; p < p1; p += rows) {
            const int mr = p1 - p < rows ? p1 - p : rows;
            const float *a = g->x + (long)p * g->ldx;
            float *c = g->y + (long)p * g->ldy;
            const float *res = g->residual ? g->residual + (long)p * g->ldr : NULL;
            if (full > 0)
                PWC(tiles)[kind][g->act][mr](k, a, g->ldx, g->packed + j0 * k, full, g->bias ? g->bias + j0 : NULL, c + j0,
                                             g->ldy, res ? res + j0 : NULL, g->ldr);
            if (ragged)
                PWC(tile_partial)(kind, g->act, mr, w, n - (int)jr, k, a, g->ldx, g->packed + jr * k, g->bias ? g->bias + jr : NULL,
                                  c + jr, g->ldy, res ? res + jr : NULL, g->ldr);
        }
    }
}

// Channels-first on a few pixels (a 1×1 conv after global pooling): a product of the packed
// weights with each pixel's column, the panel's MR rows as one vector of sums. Through the
// blocks, each pixel would pay for a zero-padded block of NR.
PWC_ATTR static void PWC(drive_first_narrow)(const sl_pointwise_args *g, int p0, int p1) {
    const int k = g->k, n = g->n;
    for (int o = 0; o < n; o += PWC_MR) {
        const int mr = n - o < PWC_MR ? n - o : PWC_MR;
        const float *a = g->packed + (long)(o / PWC_MR) * k * PWC_MR;
        for (int p = p0; p < p1; p++) {
            float acc[PWC_MR];
            for (int i = 0; i < PWC_MR; i++) acc[i] = g->bias && i < mr ? g->bias[o + i] : 0.0f;
            for (int r = 0; r < k; r++) {
                const float xv = pwc_input_row(g, r)[p];
                for (int i = 0; i < PWC_MR; i++) acc[i] += a[(long)r * PWC_MR + i] * xv;
            }
            for (int i = 0; i < mr; i++) {
                const float y = PWC(act)(g->act, PWC(splat)(acc[i]))[0];
                g->y[(long)(o + i) * g->ldy + p] = y + (g->residual ? g->residual[(long)(o + i) * g->ldr + p] : 0.0f);
            }
        }
    }
}

// Channels-first: every output channel × pixels [p0, p1), a chunk of pixels at a time. The
// chunk's activations (K × its pixels, as NR-wide blocks (K, NR)) are first copied into a
// contiguous buffer sized for L2; then each channel panel sweeps the chunk's blocks, so its
// MR output rows are written as MR sequential runs. Read in place, a block's K cache lines
// sit one plane apart, and plane sizes such as 240 × 184 floats map them onto a few L1 sets
// (they evicted each other: the kernel ran at a third of its speed); the copy also
// zero-pads a ragged last block.
PWC_ATTR static int PWC(drive_first)(const sl_pointwise_args *g, int p0, int p1) {
    const int k = g->k, n = g->n;
    if (p1 - p0 <= 2) {
        PWC(drive_first_narrow)(g, p0, p1);
        return 0;
    }
    if (g->rows) {
        // Over a row table (a stride-1 conv's shifted views, K = 9·C), full blocks read their
        // rows in place, block by block so that each block's rows are still cached for its
        // next panels; the ragged rest goes through the copy below. Copied, the blocks cost
        // up to a third of the products when few panels share them (PP-OCR's 3x3 96 -> 24:
        // 38-45 GMAC/s copied, 47-53 in place); in place was as fast or faster for every
        // width measured, up to 192 output channels and planes a multiple of 4 KiB apart (the
        // nine taps of a channel share three image rows, so its lines are few).
        const int full = (p1 - p0) / PWC_NR;
        for (int jb = 0; jb < full; jb++) {
            const long j = p0 + (long)jb * PWC_NR;
            // Hundreds of row streams are more than the hardware prefetcher follows: the next
            // block's lines are requested while this block is multiplied.
            if (jb + 1 < full)
                for (int r = 0; r < k; r++) {
                    __builtin_prefetch(g->rows[r] + j + PWC_NR);
                    __builtin_prefetch(g->rows[r] + j + 2 * PWC_NR - 1);
                }
            for (int o = 0; o < n; o += PWC_MR) {
                const int mr = n - o < PWC_MR ? n - o : PWC_MR;
                PWC(tiles)[4][g->act][mr](k, g->packed + (long)(o / PWC_MR) * k * PWC_MR, j, (const float *)(const void *)g->rows, 1,
                                          g->bias ? g->bias + o : NULL, g->y + (long)o * g->ldy + j, g->ldy,
                                          g->residual ? g->residual + (long)o * g->ldr + j : NULL, g->ldr);
            }
        }
        p0 += full * PWC_NR;
        if (p0 >= p1) return 0;
    }
    int chunk = (int)(PWC_L2_FLOATS / 2 / k) / PWC_NR * PWC_NR;
    chunk = chunk < PWC_NR ? PWC_NR : chunk;
    float *blocks = sl_thread_scratch(1, (size_t)k * (size_t)chunk); // (chunk / NR, K, NR)
    if (!blocks) return -1;
    for (int p = p0; p < p1; p += chunk) {
        const int cw = p1 - p < chunk ? p1 - p : chunk;
        // Full blocks plane by plane: each input row's run of the chunk is read front to back
        // (a block at a time, K planes apart, the loads missed the cache at every row).
        const int full = cw / PWC_NR;
        // Each row contributes a short run (a few cache lines when K is large), too short for
        // the hardware prefetcher to follow across K streams: the runs of the rows `ahead`
        // further on are requested while this one is copied (about 4 KiB in flight).
        const int ahead = cw >= 1024 ? 1 : 1024 / cw;
        for (int r = 0; r < k; r++) {
            const float *src = pwc_input_row(g, r) + p;
            float *dst = blocks + (long)r * PWC_NR;
            if (r + ahead < k) {
                const char *next = (const char *)(pwc_input_row(g, r + ahead) + p);
                for (long off = 0; off < (long)cw * 4; off += 64) __builtin_prefetch(next + off);
            }
            for (int jb = 0; jb < full; jb++) {
                const float *s = src + (long)jb * PWC_NR;
                float *d = dst + (long)jb * k * PWC_NR;
                *(PWC_VEC *)d = *(const PWC_VEC *)s;
                *(PWC_VEC *)(d + PWC_VL) = *(const PWC_VEC *)(s + PWC_VL);
            }
        }
        if (full * PWC_NR < cw) { // the ragged last block, zero-padded
            const int j = full * PWC_NR, nr = cw - j;
            float *block = blocks + (long)full * k * PWC_NR;
            for (int r = 0; r < k; r++) {
                const float *src = pwc_input_row(g, r) + p + j;
                for (int c = 0; c < PWC_NR; c++) block[(long)r * PWC_NR + c] = c < nr ? src[c] : 0.0f;
            }
        }
        for (int o = 0; o < n; o += PWC_MR) {
            const int mr = n - o < PWC_MR ? n - o : PWC_MR;
            const float *a = g->packed + (long)(o / PWC_MR) * k * PWC_MR;
            const float *bias = g->bias ? g->bias + o : NULL;
            for (int jb = 0; jb * PWC_NR < cw; jb++) {
                const int j = jb * PWC_NR, nr = cw - j < PWC_NR ? cw - j : PWC_NR;
                const float *b = blocks + (long)jb * k * PWC_NR;
                float *c = g->y + (long)o * g->ldy + p + j;
                const float *res = g->residual ? g->residual + (long)o * g->ldr + p + j : NULL;
                if (nr == PWC_NR) PWC(tiles)[1][g->act][mr](k, a, PWC_NR, b, 1, bias, c, g->ldy, res, g->ldr);
                else if (nr == PWC_VL) PWC(tiles)[3][g->act][mr](k, a, PWC_NR, b, 1, bias, c, g->ldy, res, g->ldr);
                else if (nr < PWC_VL) PWC(tile_partial)(3, g->act, mr, PWC_VL, nr, k, a, PWC_NR, b, bias, c, g->ldy, res, g->ldr);
                else PWC(tile_partial)(1, g->act, mr, PWC_NR, nr, k, a, PWC_NR, b, bias, c, g->ldy, res, g->ldr);
            }
        }
    }
    return 0;
}

#undef PWC_NR
#undef PWC_MAXW
#undef PWC_UNROLL
