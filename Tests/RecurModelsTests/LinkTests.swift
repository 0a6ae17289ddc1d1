import RecurCore
import RecurFrontends
import RecurModels
import XCTest

/// RecurModels is filled by the encoder-decoder issue; until then this checks
/// that the libraries it builds on link and report sane versions.
final class LinkTests: XCTestCase {
    func testFrontendLibrariesReportVersions() {
        XCTAssertTrue(FrontendLibraries.sndfile.hasPrefix("libsndfile-1."), FrontendLibraries.sndfile)
        XCTAssertTrue(FrontendLibraries.fftw.hasPrefix("fftw-3."), FrontendLibraries.fftw)
        XCTAssertTrue(FrontendLibraries.png.hasPrefix("1.6."), FrontendLibraries.png)
        XCTAssertTrue(FrontendLibraries.soxr.hasPrefix("libsoxr-0."), FrontendLibraries.soxr)
    }
}
