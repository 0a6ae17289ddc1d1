#include <fftw3.h>
// fftwf_version is an incomplete array (extern const char[]) that Swift
// cannot import; this wrapper returns it as a C string.
static inline const char *cfftw_version(void) { return fftwf_version; }
