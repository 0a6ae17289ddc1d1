#include <oneapi/dnnl/dnnl.h>

// oneDNN (Debian's build) threads with OpenMP: its thread count is OpenMP's.
// Declared here because GCC's omp.h is not on Clang's include path.
void omp_set_num_threads(int);
int omp_get_max_threads(void);
