import CZeroMQ

/// An error reported by libzmq (or by the reactor, using libzmq's error codes).
public struct ZMQError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The `errno` value, e.g. `EINVAL`, `EPROTONOSUPPORT` or `ETERM`.
    public let code: Int32
    /// What was being done, e.g. `zmq_connect(tcp://host:1)`.
    public let operation: String

    /// Creates an error from a code and the operation that failed.
    public init(code: Int32, operation: String) {
        self.code = code
        self.operation = operation
    }

    /// An error carrying the calling thread's current `zmq_errno()`.
    static func last(_ operation: String) -> ZMQError {
        ZMQError(code: zmq_errno(), operation: operation)
    }

    /// The error used when the reactor or context has been shut down.
    static func terminated(_ operation: String) -> ZMQError {
        ZMQError(code: ZMQErrorCode.terminated, operation: operation)
    }

    /// Human readable text from `zmq_strerror`.
    public var message: String {
        guard let text = zmq_strerror(code) else { return "error \(code)" }
        return String(cString: text)
    }

    /// `<operation> failed: <message> (errno <code>)`.
    public var description: String {
        "\(operation) failed: \(message) (errno \(code))"
    }
}

/// The libzmq error codes the module checks for, gathered in one place.
enum ZMQErrorCode {
    /// `ETERM`: the context was terminated.
    static let terminated: Int32 = ZMQ_HAUSNUMERO + 53
    /// `EFSM`: the operation is not valid in the socket's current state (e.g. REQ sending twice).
    static let wrongState: Int32 = ZMQ_HAUSNUMERO + 51
}
