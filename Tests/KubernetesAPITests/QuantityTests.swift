import KubernetesAPI
import Testing

@Suite struct QuantityTests {
    @Test(arguments: [
        ("0", 0.0), ("2", 2), ("1.5", 1.5), (".5", 0.5), ("5.", 5), ("+3", 3), ("-3", -3), ("-.5", -0.5),
        ("1n", 1e-9), ("2u", 2e-6), ("500m", 0.5), ("100k", 1e5), ("1M", 1e6), ("1G", 1e9), ("1T", 1e12),
        ("1P", 1e15), ("1E", 1e18), ("1Ki", 1024), ("512Mi", 536_870_912), ("1Gi", 1_073_741_824),
        ("1Ti", 1_099_511_627_776), ("1Pi", 1_125_899_906_842_624), ("1Ei", 1_152_921_504_606_846_976),
        ("1e3", 1e3), ("1E3", 1e3), ("1e+3", 1e3), ("15e-1", 1.5), ("1.5E-3", 1.5e-3), ("1.G", 1e9),
    ])
    func parsesTheAPIServersGrammar(text: String, expected: Double) throws {
        let value = try #require(Quantity.value(text), "\(text) was refused")
        #expect(abs(value - expected) <= abs(expected) * 1e-12, "\(text) → \(value)")
    }

    @Test(arguments: [
        "", " 2", "2 ", "1 Gi", "K", "Gi", ".", "+", "-", "1K", "1k1", "1Zi", "1ki", "1GI", "1.5.5", "0x10", "1e",
        "1e3x", "1e+", "1e1.5", "nan", "inf", "-inf", "1_000", "١", "http", String(repeating: "1", count: 65),
        "1e99999",
    ])
    func refusesWhatTheAPIServerRejects(text: String) {
        #expect(Quantity.value(text) == nil, "\(text.debugDescription) was accepted")
    }

    @Test func amountsAreNotNegative() {
        #expect(Quantity.amount("-1") == nil)
        #expect(Quantity.amount("-500m") == nil)
        #expect(Quantity.amount("0") == 0)
        #expect(Quantity.amount("2Gi") == 2_147_483_648)
    }

    @Test func equalAmountsCompareEqualWhateverTheirSpelling() throws {
        #expect(try #require(Quantity.value("500m")) == Quantity.value("0.5"))
        #expect(try #require(Quantity.value("1Gi")) == Quantity.value("1024Mi"))
        #expect(try #require(Quantity.value("1k")) == Quantity.value("1e3"))
    }
}
