import CFFTW
import CPNG
import CSndFile
import CSoxr

/// The versions of the C libraries the frontends link, as they report themselves.
public enum FrontendLibraries {
    public static var sndfile: String { String(cString: sf_version_string()) }
    public static var fftw: String { String(cString: cfftw_version()) }
    public static var png: String { String(cString: png_get_libpng_ver(nil)) }
    public static var soxr: String { String(cString: soxr_version()) }
}
