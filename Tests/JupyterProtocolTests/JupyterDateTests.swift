import Foundation
import JupyterProtocol
import Testing

@Suite("JupyterDate formatting")
struct JupyterDateTests {
    @Test("formats with exactly six fractional digits and Z", arguments: [
        (0.0, "1970-01-01T00:00:00.000000Z"),
        (1_704_110_400.123456, "2024-01-01T12:00:00.123456Z"),
        (951_782_400.5, "2000-02-29T00:00:00.500000Z"),
        (1_709_164_799.999999, "2024-02-28T23:59:59.999999Z"),
        (4_102_444_799.25, "2099-12-31T23:59:59.250000Z"),
        (-0.25, "1969-12-31T23:59:59.750000Z"),
        (-86_400.0 * 365, "1969-01-01T00:00:00.000000Z"),
    ])
    func format(seconds: Double, expected: String) {
        #expect(JupyterDate.format(Date(timeIntervalSince1970: seconds)) == expected)
    }

    @Test("rounds to the nearest microsecond, carrying into the seconds")
    func rounding() {
        #expect(JupyterDate.format(Date(timeIntervalSince1970: 59.9999996)) == "1970-01-01T00:01:00.000000Z")
    }

    @Test("matches the pattern for the current time")
    func now() {
        let text = JupyterDate.now()
        #expect(text.utf8.count == 27)
        #expect(text.wholeMatch(of: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z/) != nil)
    }

    @Test("agrees with Foundation's calendar over many dates")
    func agreesWithCalendar() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        var seconds = -2_208_988_800.0 // 1900-01-01
        while seconds < 4_102_444_800 {
            let date = Date(timeIntervalSince1970: seconds)
            let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
            let expected = String(format: "%04ld-%02ld-%02ldT%02ld:%02ld:%02ld.000000Z", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
            #expect(JupyterDate.format(date) == expected)
            seconds += 7_777_777
        }
    }

    @Test("reads back what it formats, over many dates")
    func parsesWhatItFormats() {
        var micros: Int64 = -2_208_988_800_000_000
        while micros < 4_102_444_800_000_000 {
            let text = JupyterDate.format(Date(timeIntervalSince1970: Double(micros) / 1_000_000))
            #expect(JupyterDate.microseconds(text) == micros, "\(text)")
            micros += 7_777_777_123_457
        }
    }

    @Test("reads the forms kernels write and refuses others", arguments: [
        ("2026-12-05T21:30:07.25Z", Int64(1_796_506_207_250_000)),
        ("2026-12-05T21:30:07.250000123Z", 1_796_506_207_250_000),
        ("2026-12-05T21:30:07Z", 1_796_506_207_000_000),
        ("2026-12-05T22:30:07.250000+01:00", 1_796_506_207_250_000),
        ("2026-12-05T20:30:07.250000-0100", 1_796_506_207_250_000),
        ("2026-12-05 21:30:07.250000", 1_796_506_207_250_000),
    ] as [(String, Int64)])
    func parsesKernelDates(text: String, expected: Int64) {
        #expect(JupyterDate.microseconds(text) == expected)
    }

    @Test("refuses what is not a date", arguments: ["", "2026-12-05", "2026-13-05T21:30:07Z", "2026-12-05T21:30:07.Z",
                                                    "2026-12-05T21:30:07.1234567890Z", "2026-12-05T21:30:07Zjunk",
                                                    "2026-12-05T21:30:07+1", "x026-12-05T21:30:07Z"])
    func refusesNonDates(text: String) {
        #expect(JupyterDate.microseconds(text) == nil)
    }
}
