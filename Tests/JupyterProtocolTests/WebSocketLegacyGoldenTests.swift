import JupyterProtocol
import Testing

@Suite("Legacy WebSocket encoding against jupyter_server")
struct WebSocketLegacyGoldenTests {
    @Test("kernel frames -> legacy frame matches json.dumps / serialize_binary_message")
    func gatewayToClient() throws {
        let file = try Golden.legacy
        #expect(file.server_to_client.contains { $0.kind == "text" })
        #expect(file.server_to_client.contains { $0.kind == "binary" })
        for vector in file.server_to_client {
            let signer = try MessageSigner(key: bytes(vector.key), scheme: vector.scheme)
            let parts = try WireCodec.decode(vector.kernel_frames.map(bytes), signer: signer).parts
            #expect(parts == vector.parts.messageParts)
            let channel = try #require(KernelChannel(rawValue: vector.channel))
            let frame = WebSocketCodec.encode(ChannelMessage(channel: channel, parts: parts), protocol: .legacy)
            switch (frame, vector.kind) {
            case (.text(let text), "text"):
                let expected = try #require(vector.text)
                #expect(try json(Array(text.utf8)) == json(Array(expected.utf8)), "\(vector.name)")
                if vector.canonical { #expect(text == expected, "\(vector.name)") }
            case (.binary(let ours), "binary"):
                let theirs = bytes(try #require(vector.frame))
                let (ourJSON, ourBuffers) = try splitLegacyBinary(ours)
                let (theirJSON, theirBuffers) = try splitLegacyBinary(theirs)
                #expect(ourBuffers == theirBuffers, "\(vector.name)")
                #expect(try json(ourJSON) == json(theirJSON), "\(vector.name)")
                if vector.canonical { #expect(ours == theirs, "\(vector.name)") }
            default:
                Issue.record("\(vector.name): expected a \(vector.kind) frame, got \(frame)")
            }
        }
    }

    @Test("canonical vectors are byte-identical")
    func someVectorsAreByteIdentical() throws {
        let file = try Golden.legacy
        #expect(file.server_to_client.contains { $0.canonical && $0.kind == "text" })
        #expect(file.server_to_client.contains { $0.canonical && $0.kind == "binary" })
    }

    @Test("client legacy frames decode to what jupyter_server would send to the kernel")
    func clientToGateway() throws {
        let file = try Golden.legacy
        #expect(file.client_to_server.count >= 6)
        for vector in file.client_to_server {
            let frame: WebSocketFrame = vector.kind == "text"
                ? .text(try #require(vector.text))
                : .binary(bytes(try #require(vector.frame)))
            let message = try WebSocketCodec.decode(frame, protocol: .legacy)
            let expected = vector.expected_parts.messageParts
            #expect(message.channel.rawValue == vector.expected_channel, "\(vector.name)")
            #expect(try json(message.parts.header) == json(expected.header), "\(vector.name)")
            #expect(try json(message.parts.parentHeader) == json(expected.parentHeader), "\(vector.name)")
            #expect(try json(message.parts.metadata) == json(expected.metadata), "\(vector.name)")
            #expect(try json(message.parts.content) == json(expected.content), "\(vector.name)")
            #expect(message.parts.buffers == expected.buffers, "\(vector.name)")
        }
    }

    @Test("the itests header is kept verbatim: empty session, no date, version 5.0")
    func itestsHeaderVerbatim() throws {
        let vector = try #require(try Golden.legacy.client_to_server.first { $0.name == "itests_execute_request" })
        let message = try WebSocketCodec.decode(.text(try #require(vector.text)), protocol: .legacy)
        let header = try json(message.parts.header)
        #expect(header["session"] == "")
        #expect(header["date"] == nil)
        #expect(header["version"] == "5.0")
        #expect(header["username"] == "")
        #expect(header.objectValue?.count == 5)
    }

    /// Splits a legacy binary frame into its JSON part and buffers, checking the offset table.
    private func splitLegacyBinary(_ frame: [UInt8]) throws -> ([UInt8], [[UInt8]]) {
        func u32(_ at: Int) -> Int {
            Int(frame[at]) << 24 | Int(frame[at + 1]) << 16 | Int(frame[at + 2]) << 8 | Int(frame[at + 3])
        }
        let count = u32(0)
        let offsets = (0..<count).map { u32(4 * ($0 + 1)) } + [frame.count]
        #expect(offsets[0] == 4 * (count + 1))
        let parts = (0..<count).map { Array(frame[offsets[$0]..<offsets[$0 + 1]]) }
        return (parts[0], Array(parts.dropFirst()))
    }
}
