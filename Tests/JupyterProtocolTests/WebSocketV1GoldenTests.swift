import JupyterProtocol
import Testing

@Suite("v1.kernel.websocket.jupyter.org against jupyter_server")
struct WebSocketV1GoldenTests {
    @Test("kernel frames -> v1 frame is byte-identical to serialize_msg_to_ws_v1")
    func gatewayToClient() throws {
        let file = try Golden.v1
        #expect(!file.cases.isEmpty)
        for vector in file.cases {
            let signer = try MessageSigner(key: bytes(vector.key), scheme: vector.scheme)
            let parts = try WireCodec.decode(vector.kernel_frames.map(bytes), signer: signer).parts
            let channel = try #require(KernelChannel(rawValue: vector.channel))
            let frame = WebSocketCodec.encode(ChannelMessage(channel: channel, parts: parts), protocol: .v1)
            #expect(frame == .binary(bytes(vector.frame)), "\(vector.name)")
        }
    }

    @Test("v1 frame -> kernel frames is byte-identical to Session.send_raw")
    func clientToGateway() throws {
        for vector in try Golden.v1.cases {
            let signer = try MessageSigner(key: bytes(vector.key), scheme: vector.scheme)
            let message = try WebSocketCodec.decode(.binary(bytes(vector.frame)), protocol: .v1)
            #expect(message.channel.rawValue == vector.channel, "\(vector.name)")
            #expect(message.parts == vector.parts.messageParts, "\(vector.name)")
            let frames = WireCodec.encode(message.parts, identities: vector.identities.map(bytes), signer: signer)
            #expect(frames == vector.resigned_frames.map(bytes), "\(vector.name)")
        }
    }
}
