/// A client's request to start a kernel (the body of `POST /api/kernels`, or a session's kernel).
public struct StartRequest: Sendable, Equatable {
    /// Kernelspec name; the default kernel when nil.
    public var kernelName: String?
    /// The client's environment variables (filtered and validated before use); nil when the body had none.
    public var environment: [String: String]?
    /// The notebook's API path, relative to the root directory: sets the working directory.
    public var path: String?
    /// Who asks: a non-admin's `KERNEL_USERNAME` is replaced by its name, its kernelspecs and limit apply.
    public var requester: UserIdentity

    /// Creates a request.
    public init(kernelName: String? = nil, environment: [String: String]? = nil, path: String? = nil,
                requester: UserIdentity = .anonymousAdmin) {
        self.kernelName = kernelName
        self.environment = environment
        self.path = path
        self.requester = requester
    }
}
