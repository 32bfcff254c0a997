import Foundation
import NIOCore
import Testing

@testable import KubernetesAPI

@Suite("Status errors")
struct StatusErrorTests {
    private func error(_ code: Int, _ body: String, retryAfter: String? = nil) -> KubernetesError {
        KubernetesError(httpCode: code, body: ByteBuffer(string: body), retryAfterHeader: retryAfter)
    }

    @Test(arguments: [
        (404, "NotFound", KubernetesError.Kind.notFound),
        (409, "AlreadyExists", .alreadyExists),
        (409, "Conflict", .conflict),
        (422, "Invalid", .invalid),
        (403, "Forbidden", .forbidden),
        (401, "Unauthorized", .unauthorized),
        (410, "Expired", .gone),
        (410, "Gone", .gone),
        (429, "TooManyRequests", .tooManyRequests),
        (500, "InternalError", .server),
        (400, "BadRequest", .badRequest),
    ])
    func statusBodyMapsToKind(code: Int, reason: String, kind: KubernetesError.Kind) {
        let body = """
            {"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods \\"x\\" \(reason)",
             "reason":"\(reason)","details":{"name":"x","kind":"pods"},"code":\(code)}
            """
        let error = error(code, body)
        #expect(error.kind == kind)
        #expect(error.code == code)
        #expect(error.reason == reason)
        #expect(error.message == "pods \"x\" \(reason)")
        #expect(error.status?.details?.name == "x")
    }

    @Test func invalidCarriesCauses() {
        let body = """
            {"kind":"Status","status":"Failure","reason":"Invalid","code":422,"message":"bad",
             "details":{"causes":[{"reason":"FieldValueRequired","message":"Required value","field":"spec.containers"}]}}
            """
        let error = error(422, body)
        #expect(error.kind == .invalid)
        #expect(error.status?.details?.causes?.first?.field == "spec.containers")
    }

    @Test func retryAfterFromHeaderOrDetails() {
        #expect(error(429, "{}", retryAfter: "3").retryAfter == .seconds(3))
        let body = #"{"kind":"Status","reason":"TooManyRequests","code":429,"details":{"retryAfterSeconds":2}}"#
        #expect(error(429, body).retryAfter == .seconds(2))
        #expect(error(429, body, retryAfter: "5").retryAfter == .seconds(5))
    }

    @Test func nonStatusBodyKeepsTheHTTPCode() {
        let error = error(502, "<html>bad gateway</html>")
        #expect(error.kind == .server)
        #expect(error.code == 502)
        #expect(error.message.contains("bad gateway"))
        #expect(self.error(404, "").kind == .notFound)
    }

    @Test func catchPatterns() {
        func classify(_ error: any Error) -> String {
            do {
                throw error
            } catch KubernetesError.notFound {
                return "notFound"
            } catch KubernetesError.expired {
                return "gone"
            } catch {
                return "other"
            }
        }
        #expect(classify(error(404, "")) == "notFound")
        #expect(classify(error(410, #"{"kind":"Status","reason":"Expired","code":410}"#)) == "gone")
        #expect(classify(error(500, "")) == "other")
        #expect(classify(CancellationError()) == "other")
    }

    @Test func watchErrorStatus() {
        let status = KubeStatus(code: 410, reason: "Expired", message: "too old resource version: 1 (5)")
        let error = KubernetesError(status: status)
        #expect(error.isGone)
        #expect("\(error)".contains("too old"))
    }
}
