/// A FIFO of multipart messages waiting for a socket to become writable.
///
/// Empty most of the time, and then holds no heap memory. Remembers how many frames of the head
/// message libzmq already accepted, so a partially sent message resumes where it stopped.
struct Outbox {
    private var messages: [[ZMQFrame]] = []
    private var head = 0
    /// Frames of the head message already handed to libzmq.
    var sentFramesOfHead = 0

    /// Whether nothing is waiting.
    var isEmpty: Bool { head == messages.count }

    /// Number of waiting messages.
    var count: Int { messages.count - head }

    /// The oldest waiting message.
    var first: [ZMQFrame]? { isEmpty ? nil : messages[head] }

    /// Appends a message at the back.
    mutating func append(_ message: [ZMQFrame], sentFrames: Int = 0) {
        if isEmpty { sentFramesOfHead = sentFrames }
        messages.append(message)
    }

    /// Drops the head message (sent or failed).
    mutating func removeFirst() {
        head += 1
        sentFramesOfHead = 0
        if head == messages.count {
            messages = []
            head = 0
        } else if head >= 1024 && head * 2 >= messages.count {
            messages.removeFirst(head)
            head = 0
        }
    }

    /// Drops everything.
    mutating func removeAll() {
        messages = []
        head = 0
        sentFramesOfHead = 0
    }
}
