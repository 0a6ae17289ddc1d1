/*
 * gemm_engines.c -- OpenBLAS's cblas_sgemm against oneDNN's dnnl_sgemm on the
 * matrix products Recur's layers make (row-major, C = A·B or with A or B
 * transposed). Prints the median time of each and their ratio; Recur's
 * GEMMEngine.choose (Sources/RecurCore/BLAS.swift) follows these figures.
 *
 * Build: gcc -O2 -o /tmp/gemm_engines scripts/gemm_engines.c -lopenblas -ldnnl
 * Run:   OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2 /tmp/gemm_engines
 *        (and with 1 and 1: a data-parallel shard multiplies on one thread)
 */
#include <cblas.h>
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static float *random_matrix(size_t n) {
    float *p = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
    for (size_t i = 0; i < n; i++) p[i] = (float)rand() / RAND_MAX - 0.5f;
    return p;
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median seconds per call of one library (0: OpenBLAS, 1: oneDNN) over 7 timed repetitions. */
static double time_gemm(int library, int ta, int tb, int m, int n, int k) {
    float *a = random_matrix((size_t)m * k), *b = random_matrix((size_t)k * n), *c = random_matrix((size_t)m * n);
    int lda = ta ? m : k, ldb = tb ? k : n;
    int calls = (int)(1e8 / (2.0 * m * n * k)) + 1;
    double times[7];
    for (int r = -1; r < 7; r++) {  /* r = -1 warms up (oneDNN compiles its kernel) */
        double t0 = now();
        for (int i = 0; i < calls; i++) {
            if (library)
                dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, 1, a, lda, b, ldb, 1, c, n);
            else
                cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                            m, n, k, 1, a, lda, b, ldb, 1, c, n);
        }
        if (r >= 0) times[r] = (now() - t0) / calls;
    }
    qsort(times, 7, sizeof(double), compare);
    free(a); free(b); free(c);
    return times[3];
}

int main(void) {
    struct { const char *what; int ta, tb, m, n, k; } cases[] = {
        {"LSTM step h·W_hhT (W_hhT made once)", 0, 0, 64, 2048, 512},
        {"LSTM step h·W_hhT (as stored)",       0, 1, 64, 2048, 512},
        {"LSTM input projections, all steps",    0, 1, 3200, 2048, 256},
        {"LSTM step dh = dgates·W_hh",           0, 0, 64, 512, 2048},
        {"LSTM dW_hh over all steps",            1, 0, 2048, 512, 3200},
        {"LSTM dx over all steps",               0, 0, 3200, 256, 2048},
        {"GRU step (W_hhT made once)",           0, 0, 64, 1536, 512},
        {"seq2seq decoder step GRU 128",         0, 0, 32, 384, 128},
        {"seq2seq output layer, one step",       0, 1, 32, 2900, 128},
        {"seq2seq output layer, all steps",      0, 1, 320, 2900, 256},
        {"seq2seq output dW, all steps",         1, 0, 2900, 256, 160},
        {"seq2seq output dx, all steps",         0, 0, 160, 256, 2900},
    };
    printf("%-38s %5s %5s %5s %3s %10s %10s %8s\n", "product", "m", "n", "k", "op", "openblas", "onednn", "ratio");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double o = time_gemm(0, cases[i].ta, cases[i].tb, cases[i].m, cases[i].n, cases[i].k);
        double d = time_gemm(1, cases[i].ta, cases[i].tb, cases[i].m, cases[i].n, cases[i].k);
        printf("%-38s %5d %5d %5d  %c%c %8.1fus %8.1fus %7.2fx\n", cases[i].what, cases[i].m, cases[i].n, cases[i].k,
               cases[i].ta ? 'T' : 'N', cases[i].tb ? 'T' : 'N', o * 1e6, d * 1e6, o / d);
    }
    return 0;
}
