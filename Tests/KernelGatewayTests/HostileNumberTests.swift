import Foundation
import JupyterProtocol
@testable import KernelGateway
import Testing

/// Finding 3: numbers from clients (`KERNEL_LAUNCH_TIMEOUT`) and from kernelspecs are range-checked, never
/// converted with a trapping `Int64(Double)`.
@Suite struct HostileNumberTests {
    @Test(arguments: ["inf", "-inf", "nan", "1e300", "9.3e15", "-1", "0", "abc", "1e400", "0x10", "31536001"])
    func launchTimeoutsOutOfRangeAreInvalidRequests(text: String) {
        #expect(throws: GatewayError.self, "\(text) was accepted") {
            _ = try LaunchTimeout.resolve(["KERNEL_LAUNCH_TIMEOUT": text], maximum: .seconds(60))
        }
        do {
            _ = try LaunchTimeout.resolve(["KERNEL_LAUNCH_TIMEOUT": text], maximum: .seconds(60))
        } catch {
            guard case .invalidRequest = error else { Issue.record("\(text): \(error)"); return }
        }
    }

    @Test func launchTimeoutsClampToTheMaximum() throws {
        #expect(try LaunchTimeout.resolve(["KERNEL_LAUNCH_TIMEOUT": "3600"], maximum: .seconds(60)) == .seconds(60))
        #expect(try LaunchTimeout.resolve(["KERNEL_LAUNCH_TIMEOUT": "31536000"], maximum: .seconds(60)) == .seconds(60))
        #expect(try LaunchTimeout.resolve(["KERNEL_LAUNCH_TIMEOUT": "2.5"], maximum: .seconds(60)) == .milliseconds(2500))
        #expect(try LaunchTimeout.resolve(["KERNEL_LAUNCH_TIMEOUT": ""], maximum: .seconds(60)) == .seconds(60))
        #expect(try LaunchTimeout.resolve([:], maximum: .seconds(60)) == .seconds(60))
    }

    @Test func secondsNeverTrap() {
        #expect(Seconds.duration(.infinity) == .seconds(Int64(Seconds.largestAccepted)))
        #expect(Seconds.duration(-.infinity) == .zero)
        #expect(Seconds.duration(.nan) == .zero)
        #expect(Seconds.duration(1e300) == .seconds(Int64(Seconds.largestAccepted)))
        #expect(Seconds.parse("inf") == nil)
        #expect(Seconds.parse("1e300") == nil)
        #expect(Seconds.parse("-0.5") == nil)
        #expect(Seconds.parse(" 30 ") == 30)
    }

    @Test(arguments: [Double.infinity, -Double.infinity, Double.nan, 1e300, -4, 9.3e15])
    func kernelspecResourceDefaultsNeverTrap(value: Double) throws {
        let ours: [String: JSONValue] = ["resources": ["cpus": .number(value), "memory": .number(value)]]
        do {
            _ = try KernelPodRenderer.resources(env: [:], ours: ours)
        } catch {
            guard case .invalidRequest = error else { Issue.record("\(value): \(error)"); return }
        }
    }

    @Test func kernelspecFractionalCPUsAreKept() throws {
        let resources = try KernelPodRenderer.resources(env: [:], ours: ["resources": ["cpus": 0.5, "memory": 1e9]])
        #expect(resources["requests"]?["cpu"]?.stringValue == "0.5")
        #expect(resources["requests"]?["memory"]?.stringValue == "1000000000")
    }
}

/// Finding 19: a default global limit, and no way around the per-user limit by leaving out or varying the name.
@Suite struct KernelLimitDefaultsTests {
    @Test func theDefaultGlobalLimitIsFinite() throws {
        #expect(KernelLimits().maxKernels == 64)
        #expect(throws: GatewayError.self) { try KernelLimits().check(total: 64, forUser: nil, userCount: 0) }
        #expect(throws: Never.self) { try KernelLimits(maxKernels: 0).check(total: 10_000, forUser: nil, userCount: 0) }
    }

    @Test func anonymousStartsShareOneBucketAndNamesIgnoreCase() throws {
        #expect(KernelLimits.bucket(of: nil) == "-")
        #expect(KernelLimits.bucket(of: "") == "-")
        #expect(KernelLimits.bucket(of: "Alice") == KernelLimits.bucket(of: "alice"))
        let limits = KernelLimits(maxKernelsPerUser: 2)
        do {
            try limits.check(total: 2, forUser: nil, userCount: 2)
            Issue.record("an anonymous start passed the per-user limit")
        } catch {
            guard case .limitReached(let text) = error else { Issue.record("\(error)"); return }
            #expect(text.contains("anonymous"))
        }
    }
}
