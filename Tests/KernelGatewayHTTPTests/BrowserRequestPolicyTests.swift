import Hummingbird
import Testing
@testable import KernelGatewayHTTP

@Suite struct BrowserRequestPolicyTests {
    let loopback = BrowserRequestPolicy(allowOrigin: "", bindAddress: "127.0.0.1")

    func check(_ policy: BrowserRequestPolicy, origin: String? = nil, host: String? = "127.0.0.1:8888", browser: Bool? = nil,
               method: HTTPRequest.Method = .post, contentType: String? = "application/json", hasBody: Bool = true,
               secure: Bool = false) -> BrowserRequestPolicy.Refusal? {
        policy.check(origin: origin, host: host, isBrowser: browser ?? (origin != nil), method: method,
                     contentType: contentType, hasBody: hasBody, secure: secure)
    }

    @Test func programsWithoutOriginPassWhateverTheirContentType() {
        #expect(check(loopback, contentType: "text/plain") == nil)
        #expect(check(loopback, contentType: nil) == nil)
        #expect(check(loopback, host: "localhost:8888") == nil)
        #expect(check(loopback, host: nil) == nil)
    }

    @Test func foreignOriginIsRefusedOwnOriginPasses() {
        #expect(check(loopback, origin: "http://evil.example") == .origin("http://evil.example"))
        #expect(check(loopback, origin: "null") == .origin("null"))
        #expect(check(loopback, origin: "http://127.0.0.1:9999") == .origin("http://127.0.0.1:9999"))
        #expect(check(loopback, origin: "http://127.0.0.1:8888") == nil)
        #expect(check(loopback, origin: "https://127.0.0.1:8888") == .origin("https://127.0.0.1:8888"))
        #expect(check(loopback, origin: "https://127.0.0.1:8888", secure: true) == nil)
    }

    @Test func allowListAndStarAreHonoured() {
        let listed = BrowserRequestPolicy(allowOrigin: "http://lab.example:8000, https://other.example/", bindAddress: "0.0.0.0")
        #expect(check(listed, origin: "http://lab.example:8000", host: "gw:8888") == nil)
        #expect(check(listed, origin: "HTTPS://OTHER.example", host: "gw:8888") == nil)
        #expect(check(listed, origin: "http://lab.example:8001", host: "gw:8888") == .origin("http://lab.example:8001"))
        let any = BrowserRequestPolicy(allowOrigin: "*", bindAddress: "0.0.0.0")
        #expect(check(any, origin: "http://anything.example", host: "gw:8888") == nil)
    }

    @Test func loopbackBindRefusesForeignHostNames() {
        #expect(check(loopback, host: "attacker.example:8888") == .host("attacker.example:8888"))
        #expect(check(loopback, host: "127.0.0.2:8888") == nil)
        #expect(check(loopback, host: "[::1]:8888") == nil)
        #expect(check(loopback, host: "LOCALHOST") == nil)
        let named = BrowserRequestPolicy(bindAddress: "127.0.0.1", localHostnames: ["devbox"])
        #expect(check(named, host: "devbox:8888") == nil)
        let wildcard = BrowserRequestPolicy(bindAddress: "0.0.0.0")
        #expect(check(wildcard, host: "gateway.team.svc:8888") == nil)
    }

    @Test func browserFormBodiesGet415EvenFromAllowedOrigins() {
        let own = "http://127.0.0.1:8888"
        #expect(check(loopback, origin: own, contentType: "text/plain;charset=UTF-8") == .contentType("text/plain"))
        #expect(check(loopback, origin: own, contentType: "application/x-www-form-urlencoded") == .contentType("application/x-www-form-urlencoded"))
        #expect(check(loopback, origin: own, contentType: "multipart/form-data; boundary=x") == .contentType("multipart/form-data"))
        #expect(check(loopback, origin: own, contentType: nil) == .contentType("(none)"))
        #expect(check(loopback, browser: true, contentType: "text/plain") == .contentType("text/plain"))
        #expect(check(loopback, origin: own, contentType: "application/json") == nil)
        #expect(check(loopback, origin: own, method: .get, contentType: nil, hasBody: false) == nil)
        #expect(check(loopback, origin: own, method: .delete, contentType: nil, hasBody: false) == nil)
    }

    @Test func hostNamesAreParsedFromAuthorities() {
        #expect(BrowserRequestPolicy.hostName(ofAuthority: "[::1]:8888") == "::1")
        #expect(BrowserRequestPolicy.hostName(ofAuthority: "Example.org:80") == "example.org")
        #expect(BrowserRequestPolicy.hostName(ofAuthority: "::1") == "::1")
        #expect(BrowserRequestPolicy.isLoopback("127.1.2.3"))
        #expect(!BrowserRequestPolicy.isLoopback("128.0.0.1"))
        #expect(!BrowserRequestPolicy.isLoopback("127.0.0.1.evil.example"))
    }
}
